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

/** What a body read so far gave: its bytes (slices of the input), whether it ended, whether bytes followed it. */
export interface Taken {
  readonly body: readonly Buffer[];
  readonly complete: boolean;
  /** Bytes after the end of the body: the connection is out of step. */
  readonly overflow: boolean;
}

/** How a response body is delimited, applied to the bytes as they come. */
export interface BodyFraming {
  /** The announced length, when there is one. */
  readonly length: number | undefined;
  /** Body bytes taken so far. */
  readonly received: number;
  take(bytes: Buffer): Taken;
}

/** The framing of the body after `head`, or why it cannot be read here. */
export function bodyFraming(head: ParsedHead): BodyFraming | string {
  if (head.statusCode === 204 || head.statusCode === 304) return new LengthFraming(0);
  const encoding = head.headers['transfer-encoding'];
  if (encoding !== undefined) return encoding.trim().toLowerCase() === 'chunked' ? new ChunkedFraming() : `Transfer-Encoding: ${encoding}`;
  const length = head.headers['content-length'];
  if (length === undefined) return 'no Content-Length';
  if (!/^\d+$/.test(length) || !Number.isSafeInteger(Number(length))) return `Content-Length: ${length}`;
  return new LengthFraming(Number(length));
}

/** A body of Content-Length bytes. */
export class LengthFraming implements BodyFraming {
  received = 0;

  constructor(readonly length: number) {}

  take(bytes: Buffer): Taken {
    const mine = bytes.subarray(0, this.length - this.received);
    this.received += mine.length;
    return { body: mine.length > 0 ? [mine] : [], complete: this.received === this.length, overflow: bytes.length > mine.length };
  }
}

/** Longest chunk-size or trailer line accepted (a few bytes in practice). */
const MAX_LINE_BYTES = 4096;

/** A chunked body (RFC 9112 §7.1): size lines, data, CRLFs, a last chunk and trailers, as they come. */
export class ChunkedFraming implements BodyFraming {
  readonly length = undefined;
  received = 0;
  #state: 'size' | 'data' | 'data-end' | 'trailers' | 'done' = 'size';
  /** Bytes of the current line (a size line or a trailer) read so far. */
  #line = '';
  /** Data bytes left in the current chunk, or CRLF bytes left after it. */
  #left = 0;

  take(bytes: Buffer): Taken {
    const body: Buffer[] = [];
    let at = 0;
    while (at < bytes.length && this.#state !== 'done') {
      if (this.#state === 'data') {
        const piece = bytes.subarray(at, at + this.#left);
        body.push(piece);
        this.received += piece.length;
        this.#left -= piece.length;
        at += piece.length;
        if (this.#left === 0) {
          this.#state = 'data-end';
          this.#left = 2;
        }
        continue;
      }
      if (this.#state === 'data-end') {
        const expected = this.#left === 2 ? 0x0d : 0x0a;
        if (bytes[at] !== expected) throw malformed('no CRLF after a chunk');
        at++;
        if (--this.#left === 0) this.#state = 'size';
        continue;
      }
      // A line: a chunk size, or a trailer (an empty one ends the body).
      const end = bytes.indexOf(0x0a, at);
      const upTo = end < 0 ? bytes.length : end + 1;
      this.#line += bytes.toString('latin1', at, upTo);
      at = upTo;
      if (this.#line.length > MAX_LINE_BYTES) throw malformed('a chunk line longer than 4 KiB');
      if (end < 0) continue;
      const line = this.#line.replace(/\r?\n$/, '');
      this.#line = '';
      if (this.#state === 'trailers') {
        if (line === '') this.#state = 'done';
        continue;
      }
      // Leading zeros are allowed; 12 hex digits keep the size a safe integer.
      const size = /^0*([0-9a-fA-F]{1,12})(?:[ \t]*;.*)?$/.exec(line);
      if (size === null) throw malformed(`a chunk size line ${JSON.stringify(line.slice(0, 40))}`);
      this.#left = parseInt(size[1]!, 16);
      this.#state = this.#left === 0 ? 'trailers' : 'data';
    }
    return { body, complete: this.#state === 'done', overflow: at < bytes.length };
  }
}

function malformed(what: string): NetworkError {
  return new NetworkError(`a malformed chunked body: ${what}`, 'ECONNRESET');
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
