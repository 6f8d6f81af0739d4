/**
 * HTTP/1.1 message heads for raw-http.ts: a request head written out, a response head read across
 * socket reads (copied out of the reused read buffer) and parsed, and how its body is framed.
 */

/** A network failure, with the code the retry logic knows (ECONNRESET, ETIMEDOUT, …). */
export class NetworkError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

/** S3 heads are a few hundred bytes; this bounds a broken or hostile peer. */
const MAX_HEAD_BYTES = 64 * 1024;

const EMPTY = Buffer.alloc(0);

/** A response head: status, headers (lowercase names), and whether the connection stays open. */
export interface ParsedHead {
  readonly statusCode: number;
  readonly headers: Record<string, string | undefined>;
  readonly keepAlive: boolean;
}

/** Collects a response head across reads (copying it out of the reused buffer) and parses it. */
export class HeadReader {
  #bytes: Buffer = EMPTY;
  /** After a complete head: the bytes of the read that follow it. */
  rest: Buffer = EMPTY;

  /** The parsed head once complete (interim 1xx heads skipped), else null. Throws on a malformed one. */
  push(bytes: Buffer): ParsedHead | null {
    let data: Buffer = this.#bytes.length === 0 ? bytes : Buffer.concat([this.#bytes, bytes]);
    for (;;) {
      const end = data.indexOf('\r\n\r\n');
      if ((end < 0 ? data.length : end) > MAX_HEAD_BYTES) throw new NetworkError(`a response head longer than ${MAX_HEAD_BYTES} bytes`, 'ECONNRESET');
      if (end < 0) {
        // A copy: `bytes` is the connection's read buffer, overwritten by the next read.
        this.#bytes = Buffer.from(data);
        return null;
      }
      const head = parseHead(data.toString('latin1', 0, end));
      data = data.subarray(end + 4);
      if (head.statusCode >= 100 && head.statusCode < 200) continue;
      this.rest = data;
      this.#bytes = EMPTY;
      return head;
    }
  }
}

function parseHead(text: string): ParsedHead {
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0] ?? '');
  if (status === null) throw new NetworkError(`not an HTTP/1.x response: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`, 'ECONNRESET');
  const headers: Record<string, string | undefined> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new NetworkError(`a malformed response header line: ${JSON.stringify(line.slice(0, 80))}`, 'ECONNRESET');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const connection = (headers.connection ?? '').toLowerCase();
  const keepAlive = status[1] === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
  return { statusCode: Number(status[2]), headers, keepAlive };
}

/** The body's length, or why it cannot be read here. */
export function bodyLength(head: ParsedHead): number | string {
  if (head.statusCode === 204 || head.statusCode === 304) return 0;
  if (head.headers['transfer-encoding'] !== undefined) return `Transfer-Encoding: ${head.headers['transfer-encoding']}`;
  const length = head.headers['content-length'];
  if (length === undefined) return 'no Content-Length';
  if (!/^\d+$/.test(length) || !Number.isSafeInteger(Number(length))) return `Content-Length: ${length}`;
  return Number(length);
}

/** The text of a request head: the request line and `headers`, as given. */
export function requestHead(method: string, path: string, headers: Readonly<Record<string, string>>): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    // Values come from the signer and the caller; a line break would split the request.
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error(`request header ${name}: line breaks are not allowed`);
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}
