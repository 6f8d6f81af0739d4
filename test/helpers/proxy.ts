/** A forwarding proxy in front of a test endpoint, to give it TLS or take features away. */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/** A running proxy: its URL and a stop that also cuts kept-alive connections. */
export interface RunningProxy {
  readonly url: string;
  stop(): void;
}

/** How the proxy serves and what it removes from each request. */
export interface ProxyOptions {
  /** Serve HTTPS with this key and certificate instead of HTTP. */
  readonly tls?: { key: Buffer; cert: Buffer };
  /** The loopback address to listen on (default 127.0.0.1); `::1` gives an IPv6 URL (`http://[::1]:port`). */
  readonly listenOn?: '127.0.0.1' | '::1';
  /** The port to listen on (default: any free one), e.g. one a client was already told to use. */
  readonly port?: number;
  /** Request headers (lower case) dropped before forwarding. */
  readonly dropHeaders?: readonly string[];
  /**
   * Answers a request itself instead of forwarding it (a fault to inject), given the request and
   * its 0-based number; undefined forwards it.
   */
  readonly answer?: (req: http.IncomingMessage, index: number) => CannedAnswer | undefined;
}

/** A reply the proxy sends without asking the target. */
export interface CannedAnswer {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Announce the whole body but send only its first `cutAfter` bytes, then drop the connection. */
  readonly cutAfter?: number;
}

/** An S3 error document, as S3 sends it with a non-2xx status. */
export function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

/** Sends `req` on to `target` (an http:// URL) with `headers`, and its answer back through `res`. */
export function forwardRequest(target: string, req: http.IncomingMessage, res: http.ServerResponse, headers: http.IncomingHttpHeaders = req.headers): void {
  const upstream = http.request(new URL(req.url ?? '/', target), { method: req.method, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on('error', () => res.destroy());
  // A client that gives up mid-body (a cut upload) must not leave the target waiting for the rest.
  req.on('close', () => {
    if (!req.complete) upstream.destroy();
  });
  req.pipe(upstream);
}

/** Starts a proxy on loopback forwarding every request to `target` (an http:// URL). */
export async function startProxy(target: string, options: ProxyOptions = {}): Promise<RunningProxy> {
  let index = 0;
  const forward: http.RequestListener = (req, res) => {
    const canned = options.answer?.(req, index++);
    if (canned) {
      req.resume();
      const body = Buffer.from(canned.body ?? '');
      res.writeHead(canned.status, { 'content-type': 'application/xml', 'content-length': String(body.length), ...canned.headers });
      if (canned.cutAfter === undefined) res.end(body);
      else res.write(body.subarray(0, canned.cutAfter), () => res.destroy());
      return;
    }
    const headers = { ...req.headers };
    for (const name of options.dropHeaders ?? []) delete headers[name];
    forwardRequest(target, req, res, headers);
  };
  const server = options.tls ? https.createServer(options.tls, forward) : http.createServer(forward);
  const address = options.listenOn ?? '127.0.0.1';
  // A host without that loopback (IPv6 switched off) fails the test that asked for it, saying why.
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`proxy: cannot listen on ${address}: ${err.message}`, { cause: err })));
    server.listen(options.port ?? 0, address, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://${address.includes(':') ? `[${address}]` : address}:${port}`,
    stop() {
      server.closeAllConnections();
      server.close();
    },
  };
}
