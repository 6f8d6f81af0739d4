/**
 * HTTP/1.1 requests whose response bytes are read into the connection's own buffers, reused for
 * every socket read (`onread` of node:net and node:tls; two, alternating, so that one can stay
 * with a reader still busy with its bytes), and handed to the reader while they are valid;
 * request bodies are written chunk by chunk from the caller's (reused) buffer.
 * Node's http client allocates a new 64 KiB buffer for every socket read; for a large download
 * those allocations and the page faults behind them cost three to four times the CPU of the
 * transfer itself (8 × 16 MiB on the development machine: 0.45 s of CPU against 0.1 s) and were
 * most of a download's time. Uploads had the same cost from a whole body held in fresh memory.
 *
 * It speaks only what S3 requests need: keep-alive connections and responses framed by
 * Content-Length or chunked (S3 sends listings and error documents chunked). A response framed by
 * the end of the connection, or with another transfer coding, is `RawHttpUnsupported`: the caller
 * sends that request the ordinary way.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ChunkSource, ChunkSink } from '../streams.js';
import { bodyFraming, HeadReader, LengthFraming, NetworkError, requestHead, type BodyFraming, type ParsedHead } from './http1-message.js';

/** Connection settings, those of the SDK's request handler (see aws/http-handler.ts). */
export interface RawHttpSettings {
  readonly connectTimeoutMs: number;
  /** Longest silence while a response is awaited or arrives. */
  readonly readTimeoutMs: number;
  readonly rejectUnauthorized: boolean;
  readonly ca?: Buffer;
}

/** A request: `path` is the target as sent (already encoded, query included). */
export interface RawRequest {
  readonly method: 'GET' | 'PUT';
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  readonly path: string;
  /** Sent as given: a body's Content-Length is the caller's. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: StreamedBody;
  /** Aborting it cuts the request off (its connection closed), rejecting with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** A request body written chunk by chunk; `send` may run again when the request is sent again. */
export interface StreamedBody {
  /**
   * Writes every byte through `write`, which resolves once the chunk was handed to the kernel
   * (its memory may be reused then). Rejecting abandons the request: its connection is closed
   * before the last byte, so the server never takes a body that was cut.
   */
  send(write: (chunk: Buffer) => Promise<void>): Promise<void>;
}

export interface RawResponse {
  readonly statusCode: number;
  /** Lowercase names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body as framed (Content-Length or chunked); poured or destroyed, else the connection stays taken. */
  readonly body: ChunkSource;
}

/** The response cannot be read here (how it is framed): send the request another way. */
export class RawHttpUnsupported extends Error {
  constructor(reason: string) {
    super(`response not readable without the http module: ${reason}`);
    this.name = 'RawHttpUnsupported';
  }
}

/** A connection or read timeout, named as the SDK's own. */
class TimeoutError extends NetworkError {
  constructor(message: string) {
    super(message, 'ETIMEDOUT');
    this.name = 'TimeoutError';
  }
}

/** Large enough that a fast sender fills few reads; small enough to stay in the CPU's caches. */
const READ_BUFFER_BYTES = 256 * 1024;
/**
 * Read buffers of connections that ended between exchanges, for the next connections to read
 * into. A store that closes the connection after every answer (moto does) otherwise costs a fresh
 * buffer per request: 2,000 small PUTs allocated 1 GB of them, and the garbage collection it set
 * off took 0.8 s of the upload's 4 s of CPU.
 */
const spareReadBuffers: Buffer[] = [];
/** Spare read buffers kept at most (8 MiB): one each for 32 connections closing and opening. */
const MAX_SPARE_READ_BUFFERS = 32;
/** Where a retired connection's socket reads, should it read again (see `#nextReadBuffer`). */
const RETIRED_SCRATCH = Buffer.allocUnsafe(16 * 1024);

function takeReadBuffer(): Buffer {
  return spareReadBuffers.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES);
}

/** An idle connection is closed after this, before servers drop it (S3 waits about 20 s). */
const IDLE_MS = 10_000;
/** Idle connections kept for reuse; more are closed when they become idle. */
const MAX_IDLE = 32;

/** Kept-alive connections, pooled per origin. */
export class RawHttp {
  /** Idle connections by origin (`protocol//host:port`). */
  readonly #idle = new Map<string, Connection[]>();

  constructor(readonly settings: RawHttpSettings) {}

  /**
   * Sends `request` and resolves when the response head arrived; the body follows through the
   * response's `pour`. A kept-alive connection the server closed before answering is set aside
   * and the request sent again, once, on another (never after its whole body was written: a PUT
   * the server may have carried out is the caller's retry strategy's to decide).
   */
  async request(request: RawRequest): Promise<RawResponse> {
    const head = requestHead(request.method, request.path, request.headers);
    const origin = `${request.protocol}//${request.hostname}:${request.port ?? ''}`;
    let resent = false;
    for (;;) {
      // Also before a resend: a request cut off is not sent again.
      request.signal?.throwIfAborted();
      const idle = this.#takeIdle(origin);
      const connection = idle ?? new Connection(this.settings, request);
      try {
        return await connection.exchange(head, request.body, (done) => this.#release(origin, done), request.signal);
      } catch (err) {
        if (!(err instanceof Unanswered)) throw err;
        // Once: more failures are the caller's retry strategy's to count and space out.
        if (idle === undefined || resent) throw err.error;
        resent = true;
      }
    }
  }

  /** Closes the idle connections (those in use close as their bodies end). */
  close(): void {
    for (const idle of this.#idle.values()) for (const connection of idle.splice(0)) connection.destroy();
  }

  #takeIdle(origin: string): Connection | undefined {
    const idle = this.#idle.get(origin) ?? [];
    for (;;) {
      const connection = idle.pop();
      if (connection === undefined || connection.usable) return connection;
    }
  }

  #release(origin: string, connection: Connection): void {
    let idle = this.#idle.get(origin);
    if (idle === undefined) this.#idle.set(origin, (idle = []));
    if (!connection.usable || idle.length >= MAX_IDLE) {
      connection.retire();
      return;
    }
    const list = idle;
    connection.park(() => {
      const at = list.indexOf(connection);
      if (at >= 0) list.splice(at, 1);
    });
    list.push(connection);
  }
}

/**
 * The connection closed or broke before a byte of the response came and before the whole request
 * was written: on a kept-alive connection, the server had closed it.
 */
class Unanswered extends Error {
  constructor(readonly error: Error) {
    super(error.message);
  }
}

/**
 * What a receiver says of the bytes it was handed: true reads on; false stops reading for now,
 * the receiver maybe still using the bytes (a write in flight); `KEPT_A_COPY` stops reading too,
 * but what the receiver kept of the bytes is a copy (the read buffer is free again).
 */
const KEPT_A_COPY = 'kept a copy';
/** What the connection does with the bytes it reads. */
type Receiver = (bytes: Buffer) => boolean | typeof KEPT_A_COPY;

/** One socket and the exchange going on over it. */
class Connection {
  readonly #socket: net.Socket;
  /**
   * Up to two read buffers: a chunk handed to a reader that is still busy with it stays in its
   * buffer, and reads go to the other one meanwhile (node:tls may decrypt more records right after
   * the reader asked to stop). The second is taken the first time the first is lent; reads then
   * alternate between them, both staying warm in the caches.
   */
  readonly #readBuffers: Buffer[] = [takeReadBuffer()];
  #current: 0 | 1 = 0;
  /** The current read buffer holds a chunk its reader is still busy with. */
  #lent = false;
  #receiver: Receiver | null = null;
  /** Told why, when the socket fails or closes while an exchange waits on it. */
  #onBroken: ((err: Error) => void) | null = null;
  /** The receiver asked for no more bytes for now (or none is set during an exchange). */
  #held = false;
  /**
   * Bytes that came while held: node:tls hands over the records it already decrypted even after
   * reading was stopped, into the same read buffer, so they are copied and kept for the reader.
   */
  #pending: Buffer[] = [];
  /** Kept alive between exchanges; any byte now is out of step. */
  #parked = false;
  /** Set while parked: takes the connection out of the idle list when it closes. */
  #onIdleClose: (() => void) | null = null;
  /** Why the socket failed or closed, once it did: told to whoever asks to read on. */
  #brokenBy: Error | null = null;
  #reusable = true;
  /** Closed between exchanges, its read buffers given back: its closing is nobody's failure. */
  #retired = false;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(settings: RawHttpSettings, first: RawRequest) {
    const host = first.hostname.replace(/^\[(.*)\]$/, '$1');
    const onread = { buffer: () => this.#nextReadBuffer(), callback: (length: number, buffer: Buffer) => this.#read(buffer.subarray(0, length)) };
    const secure = first.protocol === 'https:';
    // node:tls takes `onread` as node:net does (Node 15+); its typings do not say so.
    const tlsOptions: tls.ConnectionOptions & { onread: typeof onread } = {
      host,
      port: first.port ?? 443,
      servername: net.isIP(host) ? undefined : host,
      rejectUnauthorized: settings.rejectUnauthorized,
      ca: settings.ca,
      ALPNProtocols: ['http/1.1'],
      onread,
    };
    this.#socket = secure ? tls.connect(tlsOptions) : net.connect({ host, port: first.port ?? 80, onread });
    this.#socket.setNoDelay(true);
    // 0 means no limit, as for the SDK (--cli-connect-timeout 0).
    const connectTimer =
      settings.connectTimeoutMs > 0
        ? setTimeout(
            () => this.#fail(new TimeoutError(`connect timed out: ${first.hostname} did not answer within ${settings.connectTimeoutMs} ms (--cli-connect-timeout)`)),
            settings.connectTimeoutMs,
          )
        : undefined;
    this.#socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(connectTimer);
      this.#socket.setTimeout(settings.readTimeoutMs);
    });
    this.#socket.on('timeout', () =>
      this.#fail(new TimeoutError(`read timed out: no data from ${first.hostname} for ${settings.readTimeoutMs} ms (--cli-read-timeout)`)),
    );
    this.#socket.on('error', (err: NodeJS.ErrnoException) => this.#fail(new NetworkError(err.message, err.code ?? 'ECONNRESET')));
    this.#socket.on('end', () => this.#socket.destroy());
    this.#socket.on('close', () => {
      clearTimeout(connectTimer);
      if (this.#retired) return;
      if (this.#parked) {
        this.#onIdleClose?.();
        this.retire();
        return;
      }
      this.#fail(new NetworkError('the connection closed', 'ECONNRESET'));
    });
  }

  get usable(): boolean {
    // Bytes left over after a response belong to no request.
    return this.#reusable && !this.#socket.destroyed && this.#pending.length === 0;
  }

  /**
   * Sends `head` and `body`; resolves with the response once its head is read (an early answer,
   * such as a refusal, stops the body). `done` gets the connection back when the response body
   * was read to its end.
   */
  exchange(head: string, body: StreamedBody | undefined, done: (connection: Connection) => void, signal?: AbortSignal): Promise<RawResponse> {
    const exchanged = this.#exchange(head, body, done);
    if (signal === undefined) return exchanged;
    // Cut off (a shutdown's deadline): the connection goes, and the exchange fails with the reason.
    const onAbort = (): void => {
      this.#fail(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      this.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    return exchanged.finally(() => signal.removeEventListener('abort', onAbort));
  }

  #exchange(head: string, body: StreamedBody | undefined, done: (connection: Connection) => void): Promise<RawResponse> {
    clearTimeout(this.#idleTimer);
    this.#onIdleClose = null;
    this.#parked = false;
    this.#socket.ref();
    return new Promise<RawResponse>((resolve, reject) => {
      let received = 0;
      let sending = body !== undefined;
      let answered = false;
      const reader = new HeadReader();
      const onBroken = (err: Error): void => {
        // A request written whole may have been carried out: not resent here.
        const resendable = received === 0 && !(body !== undefined && !sending) && (err as NetworkError).code !== 'ETIMEDOUT';
        reject(resendable ? new Unanswered(err) : err);
      };
      const onHead: Receiver = (bytes) => {
        received += bytes.length;
        let parsed: ParsedHead | null;
        try {
          parsed = reader.push(bytes);
        } catch (err) {
          this.finish();
          this.destroy();
          reject(err);
          return false;
        }
        if (parsed === null) return true;
        answered = true;
        this.finish();
        // Unsent body bytes would be read as the next request; a message framed two ways (RFC 9112
        // §6.3) is not trusted to have ended where we think.
        const framedTwice = parsed.headers['transfer-encoding'] !== undefined && parsed.headers['content-length'] !== undefined;
        if (!parsed.keepAlive || sending || framedTwice) this.#reusable = false;
        let framing = bodyFraming(parsed);
        if (typeof framing === 'string') {
          const ok = parsed.statusCode >= 200 && parsed.statusCode < 300;
          if (body === undefined || !ok) {
            this.destroy();
            reject(new RawHttpUnsupported(framing));
            return false;
          }
          // A PUT that succeeded must not be sent again another way: its head says all we need.
          this.#reusable = false;
          framing = new LengthFraming(0);
        }
        // A copy: the read buffer is written again by the next read (with TLS, maybe at once).
        const early = Buffer.from(reader.rest);
        resolve({ statusCode: parsed.statusCode, headers: parsed.headers, body: new ConnectionBody(this, framing, early, done) });
        return KEPT_A_COPY;
      };
      this.#socket.write(head);
      this.receive(onHead, onBroken);
      if (body === undefined) return;
      const write = (chunk: Buffer): Promise<void> =>
        new Promise((written, failed) => {
          if (answered) return failed(ANSWERED);
          this.#socket.write(chunk, (err) => (err ? failed(new NetworkError(err.message, 'EPIPE')) : written()));
        });
      body.send(write).then(
        () => (sending = false),
        (err: unknown) => {
          sending = false;
          // After an answer, the rest of the body is not wanted; the answer is read as it is.
          if (err === ANSWERED || answered) return;
          // Cut before its last byte: the server cannot take the body.
          this.finish();
          this.destroy();
          reject(err);
        },
      );
    });
  }

  /**
   * Hands bytes to `receiver` (told `onBroken` if the connection breaks): first those kept while
   * held, then those of the next reads.
   */
  receive(receiver: Receiver, onBroken: (err: Error) => void): void {
    this.#receiver = receiver;
    this.#onBroken = onBroken;
    this.#held = false;
    while (this.#pending.length > 0) {
      const more = receiver(this.#pending.shift()!);
      // The exchange ended or failed on these bytes.
      if (this.#receiver !== receiver) return;
      if (more !== true) {
        this.#held = true;
        return;
      }
    }
    const brokenBy = this.#brokenBy;
    if (brokenBy !== null) {
      // It broke while nobody was reading (a body not poured yet): no byte will come.
      this.finish();
      queueMicrotask(() => onBroken(brokenBy));
      return;
    }
    this.#socket.resume();
  }

  /** Stops handing bytes out: the exchange is over, or waits for its reader. */
  finish(): void {
    this.#receiver = null;
    this.#onBroken = null;
    this.#held = true;
  }

  /** Kept alive for the next request without holding the process open; `forget` when it closes. */
  park(forget: () => void): void {
    this.finish();
    this.#parked = true;
    this.#socket.unref();
    this.#onIdleClose = forget;
    this.#idleTimer = setTimeout(() => this.destroy(), IDLE_MS);
    this.#idleTimer.unref();
    // Reading on while idle notices at once when the server closes the connection. Not from
    // inside a read callback, whose `false` would stop the reading again right after.
    setImmediate(() => {
      if (this.#parked) this.#socket.resume();
    });
  }

  destroy(): void {
    this.#reusable = false;
    clearTimeout(this.#idleTimer);
    this.#socket.destroy();
  }

  /**
   * Closes the connection between exchanges (its last body read to the end, or parked) and gives
   * its read buffers to the next connections: no read can come into them any more, and no reader
   * holds a chunk of them. Never called while an exchange or a body is in progress.
   */
  retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    this.destroy();
    for (const buffer of this.#readBuffers.splice(0)) {
      if (spareReadBuffers.length < MAX_SPARE_READ_BUFFERS) spareReadBuffers.push(buffer);
    }
  }

  /** The buffer for the next read (called by Node after every read): the other one if this one is lent. */
  #nextReadBuffer(): Buffer {
    if (this.#lent) {
      this.#current = this.#current === 0 ? 1 : 0;
      this.#lent = false;
    }
    // The second buffer is taken on first need. A connection retired inside its own read callback
    // is asked once more (node:tls may still hand over records it decrypted): it reads into a
    // scratch buffer of no connection's, and what comes is copied or dropped at once.
    if (this.#retired) return RETIRED_SCRATCH;
    return (this.#readBuffers[this.#current] ??= takeReadBuffer());
  }

  #read(bytes: Buffer): boolean {
    if (this.#parked) {
      // Bytes nobody asked for: the connection is out of step with its requests.
      this.destroy();
      return false;
    }
    const receiver = this.#receiver;
    if (receiver === null || this.#held) {
      this.#pending.push(Buffer.from(bytes));
      return false;
    }
    const more = receiver(bytes);
    if (more === true) return true;
    this.#held = true;
    // The receiver may still be using `bytes` (a write in progress), unless it copied them.
    this.#lent = more === false;
    return false;
  }

  #fail(err: Error): void {
    this.#brokenBy ??= err;
    // A held reader (a write in flight) hears of it when it asks for more, after the bytes kept
    // for it: the body may well be complete.
    const onBroken = this.#held ? null : this.#onBroken;
    this.finish();
    this.destroy();
    onBroken?.(err);
  }
}

/** The body of one response, read from its connection as the reader pours it. */
class ConnectionBody implements ChunkSource {
  /** Body bytes that came with the head (a copy), until the reader takes them. */
  #early: Buffer;
  #state: 'waiting' | 'pouring' | 'done' = 'waiting';
  /** Ends a pour in progress with an error (the reader gave the body up). */
  #abandon: ((err: Error) => void) | null = null;

  constructor(
    private readonly connection: Connection,
    private readonly framing: BodyFraming,
    early: Buffer,
    private readonly done: (connection: Connection) => void,
  ) {
    this.#early = early;
  }

  pour(sink: ChunkSink): Promise<void> {
    if (this.#state !== 'waiting') return Promise.reject(new Error('a response body can be read once'));
    this.#state = 'pouring';
    const { framing } = this;
    return new Promise<void>((resolve, reject) => {
      const fail = (err: unknown): void => {
        if (this.#state !== 'pouring') return;
        this.#state = 'done';
        this.connection.finish();
        this.connection.destroy();
        reject(err);
      };
      this.#abandon = fail;
      const end = (): void => {
        if (this.#state !== 'pouring') return;
        this.#state = 'done';
        this.done(this.connection);
        resolve();
      };
      // Only called when no write is in flight (the connection waits for the sink to ask again).
      const broken = (err: Error): void => {
        const of = framing.length === undefined ? '' : ` of ${framing.length}`;
        fail(Object.assign(new Error(`${err.message} after ${framing.received}${of} body bytes`), { name: err.name, code: (err as NetworkError).code }));
      };
      const listen = (): void => this.connection.receive(take, broken);
      /**
       * Hands `pieces` from `from` on to the sink, one after another; true when all went
       * synchronously, else `then` runs once the last one is written.
       */
      const hand = (pieces: readonly Buffer[], from: number, then: () => void): boolean => {
        for (let i = from; i < pieces.length; i++) {
          // Given up (or failed) while an earlier piece was being written: the rest is dropped.
          if (this.#state !== 'pouring') return false;
          let pending: void | Promise<void>;
          try {
            pending = sink(pieces[i]!);
          } catch (err) {
            fail(err);
            return false;
          }
          if (pending !== undefined) {
            pending.then(() => {
              if (hand(pieces, i + 1, then)) then();
            }, fail);
            return false;
          }
        }
        return true;
      };
      /** Gives the body bytes in `bytes` to the sink; true when the connection may read on at once. */
      const take = (bytes: Buffer): boolean => {
        if (this.#state !== 'pouring') return false;
        let taken;
        try {
          taken = framing.take(bytes);
        } catch (err) {
          fail(err);
          return false;
        }
        if (taken.overflow) {
          // More than the body: the extra bytes are not ours; keep ours, drop the connection.
          this.connection.finish();
          this.connection.destroy();
        }
        const complete = taken.complete;
        if (!hand(taken.body, 0, () => (complete ? end() : listen()))) return false;
        if (!complete) return true;
        end();
        return false;
      };
      const early = this.#early;
      this.#early = EMPTY;
      // (An empty body ends on the first take; bytes after it mark the connection out of step.)
      if (take(early)) listen();
    });
  }

  destroy(): void {
    if (this.#state === 'pouring') return this.#abandon?.(new Error('the body was given up while it was read'));
    if (this.#state === 'done') return;
    this.#state = 'done';
    this.connection.finish();
    this.connection.destroy();
  }
}

const EMPTY = Buffer.alloc(0);

/** What a body's `write` rejects with once the response came: the rest is not wanted. */
const ANSWERED = new Error('the server answered before the body was sent');
