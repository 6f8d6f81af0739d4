/**
 * An HTTP proxy in front of moto that can answer chosen requests itself (with an AWS XML error)
 * or hold them until released. Moto never throttles, so this is how tests meet CloudFront's
 * TooManyInvalidationsInProgress and a request still in flight — with the real SDK client.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// Headers fetch sets itself (or undoes, like compression) and must not be copied across.
const HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'content-encoding', 'keep-alive']);

/** What to do with one request: forward it, answer with an error, or hold it until `release`. */
export type ProxyVerdict =
  | { readonly kind: 'pass' }
  | { readonly kind: 'error'; readonly status: number; readonly code: string }
  | { readonly kind: 'hold'; readonly release: Promise<void> };

/** A running proxy. */
export interface FaultProxy {
  readonly endpoint: string;
  /** Most CreateInvalidation requests seen in flight at the same time. */
  readonly maxConcurrentInvalidations: number;
  /** CreateInvalidation requests received (forwarded or answered). */
  readonly invalidationRequests: number;
  close(): Promise<void>;
}

/** Starts a proxy to `target`; `decide` sees every CreateInvalidation request (POST …/invalidation). */
export async function startFaultProxy(target: string, decide: (n: number) => ProxyVerdict): Promise<FaultProxy> {
  let inFlight = 0;
  let maxConcurrent = 0;
  let requests = 0;
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const isInvalidation = req.method === 'POST' && /\/invalidation$/.test(req.url ?? '');
    let verdict: ProxyVerdict = { kind: 'pass' };
    if (isInvalidation) {
      requests += 1;
      inFlight += 1;
      maxConcurrent = Math.max(maxConcurrent, inFlight);
      verdict = decide(requests);
    }
    try {
      if (verdict.kind === 'error') {
        res.writeHead(verdict.status, { 'content-type': 'text/xml' });
        res.end(
          `<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">` +
            `<Error><Type>Sender</Type><Code>${verdict.code}</Code><Message>injected by the test proxy</Message></Error>` +
            `<RequestId>test</RequestId></ErrorResponse>`,
        );
        return;
      }
      if (verdict.kind === 'hold') await verdict.release;
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string' && !HOP.has(e[0])),
      );
      const upstream = await fetch(`${target}${req.url}`, {
        method: req.method,
        headers,
        body: body.length > 0 ? new Uint8Array(body) : undefined,
      });
      res.writeHead(upstream.status, Object.fromEntries([...upstream.headers].filter(([name]) => !HOP.has(name))));
      res.end(Buffer.from(await upstream.arrayBuffer()));
    } finally {
      if (isInvalidation) inFlight -= 1;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get maxConcurrentInvalidations() {
      return maxConcurrent;
    },
    get invalidationRequests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
