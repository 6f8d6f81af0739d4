/**
 * A counting pass-through HTTP proxy in front of moto, run as its own process so its CPU is
 * charged to no client. Streams bodies both ways on keep-alive sockets and counts every request
 * by kind; `GET /__bench/counts` returns the running totals (not counted itself).
 * Usage: node --import tsx bench/proxy-server.ts <upstream-url>; prints {"port":N} when listening.
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { RequestCounts } from './proxy.js';

/** Headers that describe one hop, not the message; the proxy sets its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);

/** LIST for bucket listings (ListObjectsV2 and friends), otherwise the HTTP method. */
function requestKind(method: string, url: string): string {
  if (method !== 'GET') return method;
  const [path = '', query = ''] = url.split('?', 2);
  const segments = path.split('/').filter((s) => s !== '');
  return segments.length <= 1 && /(^|&)(list-type|prefix|delimiter)=/.test(query) ? 'LIST' : 'GET';
}

function forwardHeaders(headers: IncomingHttpHeaders, dropExpect: boolean): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (HOP_BY_HOP.has(name) || (dropExpect && name === 'expect')) continue;
    out[name] = value;
  }
  return out;
}

function serve(upstream: URL): void {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const counts: RequestCounts = { total: 0, byKind: {} };
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/__bench/counts') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(counts));
      return;
    }
    const kind = requestKind(req.method ?? 'GET', url);
    counts.total += 1;
    counts.byKind[kind] = (counts.byKind[kind] ?? 0) + 1;
    const upstreamReq = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: url,
        // Node's server has already answered `Expect: 100-continue` to the client.
        headers: forwardHeaders(req.headers, true),
        agent,
      },
      (upstreamRes: IncomingMessage) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, forwardHeaders(upstreamRes.headers, false));
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', (err) => {
      if (res.headersSent) res.destroy(err);
      else res.writeHead(502, { 'content-type': 'text/plain' }).end(`bench proxy: upstream failed: ${err.message}`);
    });
    req.pipe(upstreamReq);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('start bench proxy: no TCP address');
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  });
  process.on('SIGTERM', () => {
    server.close();
    agent.destroy();
    process.exit(0);
  });
}

const target = process.argv[2];
if (!target) {
  process.stderr.write('usage: proxy-server.ts <upstream-url>\n');
  process.exit(2);
}
serve(new URL(target));
