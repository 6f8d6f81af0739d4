import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { RawHttp, RawHttpUnsupported, type RawRequest } from '../../src/remote/raw-http.js';
import { collect, type ChunkSource } from '../../src/streams.js';
import { tempDir } from '../helpers/tmp.js';

const SETTINGS = { connectTimeoutMs: 2000, readTimeoutMs: 2000, rejectUnauthorized: true };

/**
 * A TCP server that answers each request head it reads with `respond(requestNumber, socket)`
 * (raw bytes, so any framing can be sent), counting the connections it accepted.
 */
async function rawServer(respond: (index: number, socket: Socket, head: string) => void): Promise<{
  get: (path?: string) => RawRequest;
  connections: () => number;
  close: () => void;
}> {
  const sockets = new Set<Socket>();
  let index = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let pending = '';
    socket.on('data', (data) => {
      pending += data.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        respond(index++, socket, head);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let accepted = 0;
  server.on('connection', () => accepted++);
  return {
    get: (path = '/b/k') => ({ method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}` } }),
    connections: () => accepted,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

const ok = (body: Buffer | string, extra = ''): Buffer =>
  Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n`), Buffer.from(body)]);

/**
 * Every byte of a response body, read through a sink that takes its time (a file write): a turn
 * of the event loop, or `delayMs`.
 */
async function slowly(body: ChunkSource, delayMs?: number): Promise<Buffer> {
  const copies: Buffer[] = [];
  await body.pour(async (chunk) => {
    const copy = Buffer.from(chunk);
    await new Promise((resolve) => (delayMs === undefined ? setImmediate(resolve) : setTimeout(resolve, delayMs)));
    // The chunk must still hold the same bytes: the next read waits for the sink.
    assert.ok(chunk.equals(copy), 'a chunk changed while the sink was busy with it');
    copies.push(copy);
  });
  return Buffer.concat(copies);
}

/**
 * `workers` loops sending `get` one request after another until every body of `bodies` (served
 * once each, in any order) was read through a sink taking `delayMs` a chunk; each must arrive intact.
 */
async function assertIntactFromWorkers(raw: RawHttp, get: RawRequest, bodies: readonly Buffer[], workers: number, delayMs: number): Promise<void> {
  const received: Buffer[] = [];
  const worker = async (): Promise<void> => {
    for (let i = 0; i < bodies.length / workers; i++) received.push(await slowly((await raw.request(get)).body, delayMs));
  };
  await Promise.all(Array.from({ length: workers }, worker));
  const expected = new Set(bodies.map((b) => b.toString('base64')));
  for (const body of received) assert.ok(expected.delete(body.toString('base64')), 'a body arrived intact');
  assert.equal(expected.size, 0);
}

test('raw GET: bodies arrive intact through the reused read buffer, and one kept-alive connection serves request after request', async () => {
  const bodies = [randomBytes(5 * 1024 * 1024 + 3), Buffer.from('small'), randomBytes(700 * 1024)];
  const server = await rawServer((index, socket) => socket.write(ok(bodies[index % bodies.length]!)));
  const raw = new RawHttp(SETTINGS);
  try {
    for (const [index, body] of bodies.entries()) {
      const response = await raw.request(server.get());
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-length'], String(body.length));
      const received = index === 1 ? await collect(response.body) : await slowly(response.body);
      assert.ok(received.equals(body), `body ${index} intact`);
    }
    assert.equal(server.connections(), 1, 'one connection for the three requests');
  } finally {
    raw.close();
    server.close();
  }
});

test('raw GET: a kept-alive connection the server closed is replaced without failing the request', async () => {
  // The server closes after each answer without saying so (as idle S3 connections end).
  const server = await rawServer((index, socket) => socket.end(ok(`answer ${index}`)));
  const raw = new RawHttp(SETTINGS);
  try {
    assert.equal((await collect((await raw.request(server.get())).body)).toString(), 'answer 0');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await collect((await raw.request(server.get())).body)).toString(), 'answer 1');
    assert.equal(server.connections(), 2);
  } finally {
    raw.close();
    server.close();
  }
  // Closed just as the next request arrives, unanswered: sent again on a new connection.
  const dropping = await rawServer((index, socket) => (index === 1 ? socket.destroy() : socket.write(ok(`answer ${index}`))));
  // (--cli-connect-timeout 0 means no limit, not an immediate timeout.)
  const again = new RawHttp({ ...SETTINGS, connectTimeoutMs: 0 });
  try {
    assert.equal((await collect((await again.request(dropping.get())).body)).toString(), 'answer 0');
    assert.equal((await collect((await again.request(dropping.get())).body)).toString(), 'answer 2');
    assert.equal(dropping.connections(), 2);
    // A new connection that fails unanswered is an error of the request (the caller's retries decide).
    const refusing = await rawServer((_index, socket) => socket.destroy());
    try {
      await assert.rejects(again.request(refusing.get()), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET');
    } finally {
      refusing.close();
    }
  } finally {
    again.close();
    dropping.close();
  }
});

test('raw GET: a server that closes after every answer: read buffers passed on to later connections are never those a busy reader still holds', async () => {
  // As moto does: "Connection: close" and the end of the connection right after each body, so
  // every request opens a connection while other readers are busy. (Over plain TCP the end is read
  // only after the busy reader asks for more; the TLS test below has the end come first.)
  const bodies = Array.from({ length: 32 }, (_, i) => randomBytes(600 * 1024 + i));
  const server = await rawServer((index, socket) => socket.end(ok(bodies[index]!, 'Connection: close\r\n')));
  const raw = new RawHttp(SETTINGS);
  try {
    await assertIntactFromWorkers(raw, server.get(), bodies, 4, 2);
    assert.equal(server.connections(), 32, 'one connection per request');
  } finally {
    raw.close();
    server.close();
  }
});

test('raw GET: a request meeting stale kept-alive connections is sent again once, not once per stale connection', async () => {
  // Two kept-alive connections, both dropped by the server when the next request arrives.
  const server = await rawServer((index, socket) => (index < 2 ? socket.write(ok(`answer ${index}`)) : socket.destroy()));
  const raw = new RawHttp(SETTINGS);
  try {
    const first = await Promise.all([raw.request(server.get()), raw.request(server.get())]);
    await Promise.all(first.map((response) => collect(response.body)));
    assert.equal(server.connections(), 2);
    await assert.rejects(raw.request(server.get()), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET');
    assert.equal(server.connections(), 2, 'after the second stale connection the request fails; the retry strategy decides what comes next');
  } finally {
    raw.close();
    server.close();
  }
});

test('raw GET: heads split across reads, interim 1xx answers and repeated headers are read as HTTP says', async () => {
  const server = await rawServer((_index, socket) => {
    socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Amz-Meta-A: 1\r\n');
    setTimeout(() => socket.write('x-amz-meta-a: 2\r\nContent-Length: 5\r\n\r\nhel'), 20);
    setTimeout(() => socket.write('lo'), 40);
  });
  const raw = new RawHttp(SETTINGS);
  try {
    const response = await raw.request(server.get());
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['x-amz-meta-a'], '1, 2');
    assert.equal((await collect(response.body)).toString(), 'hello');
  } finally {
    raw.close();
    server.close();
  }
});

test('raw GET: a body framed by the end of the connection is left to the http module; a malformed answer is a network error', async () => {
  const answers = [
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello',
    'SSH-2.0-OpenSSH\r\n\r\n',
    `HTTP/1.1 200 OK\r\nX-Long: ${'x'.repeat(70 * 1024)}\r\n\r\n`,
    'HTTP/1.1 200 OK\r\nETag: "put"\r\nConnection: close\r\n\r\n',
  ];
  const server = await rawServer((index, socket) => socket.write(answers[index]!));
  const raw = new RawHttp(SETTINGS);
  try {
    await assert.rejects(raw.request(server.get()), (err) => err instanceof RawHttpUnsupported && /Transfer-Encoding: gzip, chunked/.test(err.message));
    await assert.rejects(raw.request(server.get()), (err) => err instanceof RawHttpUnsupported && /no Content-Length/.test(err.message));
    await assert.rejects(raw.request(server.get()), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' && /not an HTTP\/1\.x response/.test(err.message));
    await assert.rejects(raw.request(server.get()), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' && /head longer than/.test(err.message));
    // A PUT the server took must not be sent again another way, however its answer is framed.
    const put: RawRequest = { ...server.get(), method: 'PUT', headers: { ...server.get().headers, 'content-length': '4' }, body: { send: (write) => write(Buffer.from('body')) } };
    const taken = await raw.request(put);
    assert.equal(taken.statusCode, 200);
    assert.equal(taken.headers.etag, '"put"');
    assert.equal((await collect(taken.body)).length, 0);
  } finally {
    raw.close();
    server.close();
  }
});

test('raw GET: chunked bodies (S3 sends listings and errors so) are read across any split, with extensions and trailers, and end where the last chunk says', async () => {
  const chunked = 'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n' + '7;ext=1\r\n<Error>\r\n' + '1e\r\n<Code>NoSuchKey</Code></Error>\r\n' + '0\r\nX-Trailer: t\r\n\r\n';
  const big = randomBytes(300 * 1024);
  const bigChunked = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n${big.length.toString(16)}\r\n`), big, Buffer.from('\r\n0\r\n\r\n')]);
  const server = await rawServer((index, socket) => {
    if (index === 0) {
      // One byte at a time: every state of the decoder meets a read boundary.
      const bytes = Buffer.from(chunked);
      let at = 0;
      const next = (): void => {
        if (at < bytes.length) socket.write(bytes.subarray(at, ++at), () => setImmediate(next));
      };
      next();
    } else if (index === 1) socket.write(bigChunked);
    else if (index === 2) socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n');
    else socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiXX0\r\n\r\n');
  });
  const raw = new RawHttp(SETTINGS);
  try {
    const error = await raw.request(server.get());
    assert.equal(error.statusCode, 404);
    assert.equal((await collect(error.body)).toString(), '<Error><Code>NoSuchKey</Code></Error>');
    const large = await raw.request(server.get());
    assert.ok((await slowly(large.body)).equals(big), 'a 300 KiB chunk through a slow sink');
    assert.equal(server.connections(), 1, 'kept alive across chunked bodies');
    await assert.rejects(collect((await raw.request(server.get())).body), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' && /chunk size line "zz"/.test(err.message));
    await assert.rejects(collect((await raw.request(server.get())).body), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' && /no CRLF after a chunk/.test(err.message));
  } finally {
    raw.close();
    server.close();
  }
});

test('raw GET: a body cut short fails its reader with how far it got; bytes beyond Content-Length are not passed on', async () => {
  const server = await rawServer((index, socket) => {
    if (index <= 1) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly forty bytes of the hundred announced');
    else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA BYTES');
  });
  const raw = new RawHttp(SETTINGS);
  try {
    const cut = await raw.request(server.get());
    await assert.rejects(collect(cut.body), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' && /after 41 of 100 body bytes/.test(err.message));
    // Cut before the reader even started: it is told when it starts.
    const early = await raw.request(server.get());
    await new Promise((resolve) => setTimeout(resolve, 50));
    await assert.rejects(collect(early.body), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' && /after 41 of 100 body bytes/.test(err.message));
    assert.equal((await collect((await raw.request(server.get())).body)).toString(), 'hello');
    // The connection that sent extra bytes is not trusted again.
    assert.equal((await collect((await raw.request(server.get())).body)).toString(), 'hello');
    assert.equal(server.connections(), 4);
  } finally {
    raw.close();
    server.close();
  }
});

test('raw GET: bytes after an empty body (204, or Content-Length: 0) are not taken for the next answer', async () => {
  const server = await rawServer((index, socket) => {
    if (index === 0) socket.write('HTTP/1.1 204 No Content\r\n\r\nstray');
    else if (index === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nstray');
    else socket.write(ok(`answer ${index}`));
  });
  const raw = new RawHttp(SETTINGS);
  try {
    assert.equal((await collect((await raw.request(server.get())).body)).length, 0);
    assert.equal((await collect((await raw.request(server.get())).body)).length, 0);
    assert.equal((await collect((await raw.request(server.get())).body)).toString(), 'answer 2');
    assert.equal(server.connections(), 3, 'each connection that sent stray bytes was dropped');
  } finally {
    raw.close();
    server.close();
  }
});

test('raw GET: a silent server is a read timeout (ETIMEDOUT), a sink that throws stops the body and drops the connection', { timeout: 10_000 }, async () => {
  const server = await rawServer((index, socket) => {
    if (index === 1) socket.write(ok(randomBytes(1024 * 1024)));
    if (index === 2) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nforty-one bytes, then nothing for a while');
    // index 0: never answers
  });
  const raw = new RawHttp({ ...SETTINGS, readTimeoutMs: 200 });
  try {
    await assert.rejects(raw.request(server.get()), (err: NodeJS.ErrnoException) => err.code === 'ETIMEDOUT' && /read timed out.*--cli-read-timeout/.test(err.message));
    const response = await raw.request(server.get());
    await assert.rejects(
      response.body.pour(() => {
        throw new Error('disk full');
      }),
      /disk full/,
    );
    await assert.rejects(response.body.pour(() => undefined), /can be read once/);
    // Timed out while the body waited for its reader: the reader is told, not left waiting.
    const stalled = await raw.request(server.get());
    await new Promise((resolve) => setTimeout(resolve, 400));
    await assert.rejects(collect(stalled.body), (err: NodeJS.ErrnoException) => err.code === 'ETIMEDOUT' && /after 41 of 100 body bytes/.test(err.message));
  } finally {
    raw.close();
    server.close();
  }
});

/**
 * An HTTPS server for 127.0.0.1 (self-signed) that hands each connection to `onSocket`, and a
 * RawHttp client trusting it, with the GET request to send.
 */
async function tlsServer(onSocket: (socket: TLSSocket) => void): Promise<{ raw: RawHttp; get: RawRequest; close: () => void }> {
  const dir = await tempDir('raw-tls');
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
  const cert = readFileSync(certPath);
  const sockets = new Set<TLSSocket>();
  const server = createTlsServer({ key: readFileSync(keyPath), cert }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const raw = new RawHttp({ ...SETTINGS, ca: cert });
  return {
    raw,
    get: { method: 'GET', protocol: 'https:', hostname: '127.0.0.1', port, path: '/b/k', headers: { host: `127.0.0.1:${port}` } },
    close: () => {
      raw.close();
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

test('raw GET over TLS: records decrypted after the reader paused are kept for it, not written over, and a close right after a body does not fail it (slow sink, many records per read)', { timeout: 30_000 }, async () => {
  const body = randomBytes(3 * 1024 * 1024 + 11);
  // Head and body in one write: TLS records of 16 KiB, many to each TCP read.
  const { raw, get, close } = await tlsServer((socket) => {
    // The third answer closes the connection right after the body, as servers do after N requests.
    let answers = 0;
    socket.on('data', () => (++answers === 3 ? socket.end(ok(body)) : socket.write(ok(body))));
  });
  try {
    for (let round = 0; round < 3; round++) {
      const response = await raw.request(get);
      assert.equal(response.statusCode, 200);
      const received = round === 1 ? await collect(response.body) : await slowly(response.body);
      assert.ok(received.equals(body), `round ${round}: the body arrives intact`);
    }
  } finally {
    close();
  }
});

test('raw GET over TLS: a server that closes after every answer: a connection whose close is read while its reader is busy keeps its read buffers from other connections', { timeout: 30_000 }, async () => {
  // Over TLS the close (close_notify) is decrypted with the last records even though reading
  // stopped for the busy reader: the connection closes before its reader is done. Its read
  // buffers must not go to the connections that open meanwhile.
  const bodies = Array.from({ length: 24 }, (_, i) => randomBytes(200 * 1024 + i));
  let index = 0;
  const { raw, get, close } = await tlsServer((socket) => {
    socket.once('data', () => socket.end(ok(bodies[index++]!, 'Connection: close\r\n')));
  });
  try {
    // 10 ms a chunk: long enough for a new connection to shake hands and read an answer meanwhile.
    await assertIntactFromWorkers(raw, get, bodies, 4, 10);
  } finally {
    close();
  }
});
