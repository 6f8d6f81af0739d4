/**
 * Counts the S3 requests each tool makes, by kind, from moto's own access log: moto's server
 * (werkzeug) prints one line per request on stderr, before it sends the response's headers. The
 * tools talk to moto directly. Until 2026-11 a relaying proxy counted them; it took 0.2–0.7 s of
 * CPU per 128 MiB from the two cores the tools and moto share, and made s3-sync2's 16 MiB upload
 * 40% slower than without it (aws's 10%), so it measured itself as much as the tools.
 */
import { createServer, type Server } from 'node:http';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** Request totals, by kind (LIST, GET, HEAD, PUT, POST, DELETE). */
export interface RequestCounts {
  total: number;
  byKind: Record<string, number>;
}

/** LIST for bucket listings (ListObjectsV2 and friends), otherwise the HTTP method. */
export function requestKind(method: string, url: string): string {
  if (method !== 'GET') return method;
  const [path = '', query = ''] = url.split('?', 2);
  const segments = path.split('/').filter((s) => s !== '');
  return segments.length <= 1 && /(^|&)(list-type|prefix|delimiter)=/.test(query) ? 'LIST' : 'GET';
}

/** werkzeug's access line: `127.0.0.1 - - [date] "PUT /bucket/key HTTP/1.1" 200 -`. */
const ACCESS_LINE = /"([A-Z]+) (\S+) HTTP\/[\d.]+" \d{3} /;
/**
 * werkzeug colours the request of every answer but a 200 (the 404 of a marker or of a HEAD, the
 * 204 of a DELETE); only colorama, when installed (aws CLI v1 brings it), strips the colours from
 * a log that is not a terminal.
 */
const ANSI_STYLE = /\x1b\[[\d;]*m/g;
/** The path of the requests `counts()` sends to know the log has caught up; never counted. */
const MARKER_PATH = '/__bench/marker-';
/** How long a marker may take to show up in the log. */
const MARKER_TIMEOUT_MS = 30_000;
/** What a marker wait ends with once moto's log has closed. */
const MOTO_EXITED = 'count requests: moto exited (its access log ended)';

/** The method and URL of an access-log line; null for moto's other output. */
export function parseAccessLine(line: string): { method: string; url: string } | null {
  const match = ACCESS_LINE.exec(line.replace(ANSI_STYLE, ''));
  return match ? { method: match[1]!, url: match[2]! } : null;
}

/** Running request totals read from moto's access log. */
export class RequestLog {
  readonly #endpoint: string;
  readonly #counts: RequestCounts = { total: 0, byKind: {} };
  /** Markers sent and not yet seen in the log: what to do when they show up or the log ends. */
  readonly #waiting = new Map<number, (error?: Error) => void>();
  #markers = 0;
  #ended = false;

  /** `log`: moto's stderr (`startMoto({ accessLog: true })`), read from now on; `endpoint`: moto. */
  constructor(log: Readable, endpoint: string) {
    this.#endpoint = endpoint;
    const lines = createInterface({ input: log, crlfDelay: Infinity });
    lines.on('line', (line) => this.#see(line));
    lines.on('close', () => {
      this.#ended = true;
      for (const settle of this.#waiting.values()) settle(new Error(MOTO_EXITED));
    });
  }

  /**
   * Totals of every request moto has answered so far: sends a marker request and waits for its
   * line, so a tool's requests are all counted once the tool has exited.
   */
  async counts(): Promise<RequestCounts> {
    if (this.#ended) throw new Error(MOTO_EXITED);
    const marker = ++this.#markers;
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => this.#waiting.get(marker)?.(new Error(`count requests: moto's access log did not show marker ${marker} within ${MARKER_TIMEOUT_MS / 1000} s`)),
        MARKER_TIMEOUT_MS,
      );
      this.#waiting.set(marker, (error) => {
        clearTimeout(timer);
        this.#waiting.delete(marker);
        if (error) reject(error);
        else resolve();
      });
    });
    // Settled maybe while the marker request is still on its way (moto exited, or the wait timed
    // out): awaited below, but an unhandled rejection meanwhile would end the benchmark at once.
    seen.catch(() => undefined);
    try {
      await (await fetch(`${this.#endpoint}${MARKER_PATH}${marker}`)).arrayBuffer();
    } catch (err) {
      this.#waiting.get(marker)?.(new Error(`count requests: marker request failed: ${err instanceof Error ? err.message : String(err)}`));
    }
    await seen;
    return { total: this.#counts.total, byKind: { ...this.#counts.byKind } };
  }

  /**
   * Serves `counts()` as JSON at `GET <url>` for a process of the benchmark's own (the idle
   * worker); resolves with the URL and a close function.
   */
  async serve(): Promise<{ url: string; close: () => Promise<void> }> {
    const server: Server = createServer((_req, res) => {
      this.counts().then(
        (counts) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts)),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(err instanceof Error ? err.message : String(err)),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('serve request counts: no TCP address');
    return {
      url: `http://127.0.0.1:${address.port}/counts`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  #see(line: string): void {
    const request = parseAccessLine(line);
    if (!request) return;
    if (request.url.startsWith(MARKER_PATH)) {
      this.#waiting.get(Number(request.url.slice(MARKER_PATH.length)))?.();
      return;
    }
    const kind = requestKind(request.method, request.url);
    this.#counts.total += 1;
    this.#counts.byKind[kind] = (this.#counts.byKind[kind] ?? 0) + 1;
  }
}

/** The requests made between two readings. */
export function diffCounts(before: RequestCounts, after: RequestCounts): RequestCounts {
  const byKind: Record<string, number> = {};
  for (const [kind, n] of Object.entries(after.byKind)) {
    const d = n - (before.byKind[kind] ?? 0);
    if (d > 0) byKind[kind] = d;
  }
  return { total: after.total - before.total, byKind };
}
