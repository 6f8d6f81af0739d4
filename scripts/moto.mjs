// Starts moto server (a real S3 + CloudFront API over HTTP) on a free loopback port.
// Shared by the test harness, the test runner, the demo and the benchmarks.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

export const MOTO_INSTALL_HINT =
  'moto server is required for the tests: install it with `python3 -m pip install "moto[server]"` ' +
  '(or set S3_TEST_ENDPOINT to an S3-compatible endpoint such as MinIO)';

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Throws with the install hint when python3 cannot import moto's server. */
export function assertMotoInstalled() {
  const probe = spawnSync('python3', ['-c', 'import moto.server, flask'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`${MOTO_INSTALL_HINT}\n(probe said: ${(probe.stderr || String(probe.error)).trim()})`);
  }
}

// moto's own server is threaded, and its conditional writes check then write without a lock:
// two concurrent `If-None-Match: *` creates can both succeed (about 1 round in 100 with 6
// writers). This runs the same app one request at a time, so conditional writes are atomic as on S3.
const SERIAL_MOTO = `
import sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)
`;

// The benchmark's moto (BENCH_MOTO=routing-cached, the default), made to behave like S3 where
// stock moto's server costs both tools alike:
// - moto 5.2 finds the service of every request by listing its own package folder and stat-ing
//   each of its ~180 sub-folders, then trying the URL patterns of every service in turn, all
//   under one global lock: about half of its CPU per small S3 request here, and it serializes
//   requests. The answer depends only on the host name, so the lookup is remembered per host.
// - werkzeug closes the connection after every answer (it cannot tell where an unread request
//   body ends), so every request of both tools paid a TCP connection S3 would keep alive. moto
//   reads every request body whole before answering, so connections are kept alive here:
//   without the "Connection: close" header and without the drain after each request (which
//   waits 10 ms for more bytes and would swallow the next request). TCP_NODELAY as production
//   servers set it: werkzeug writes a response's head and body separately, and on a persistent
//   connection Nagle's algorithm held the body until the client's delayed ACK (the aws CLI's
//   small uploads took 30% longer).
// Responses are unchanged; only the benchmark uses it.
const ROUTING_CACHED_MOTO = `
import socket, sys
import werkzeug.serving as serving
from werkzeug.serving import run_simple
from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: modules
lookup = DomainDispatcherApplication.get_backend_for_host
known = {}
def get_backend_for_host(self, host):
    if host not in known:
        known[host] = lookup(self, host)
    return known[host]
DomainDispatcherApplication.get_backend_for_host = get_backend_for_host
class NoDrain:
    def register(self, *args): pass
    def select(self, timeout=None): return []
    def close(self): pass
class Selectors:
    DefaultSelector = NoDrain
serving.selectors = Selectors
send_header = serving.WSGIRequestHandler.send_header
def keep_alive_header(self, key, value):
    if key.lower() == 'connection' and value.lower() == 'close':
        return
    send_header(self, key, value)
serving.WSGIRequestHandler.send_header = keep_alive_header
setup = serving.WSGIRequestHandler.setup
def setup_nodelay(self):
    setup(self)
    self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
serving.WSGIRequestHandler.setup = setup_nodelay
run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=True)
`;

/**
 * Starts moto; resolves `{ endpoint, stop, pid, accessLog }` once it answers HTTP. `serial` serves
 * one request at a time, for tests of races that need S3's atomic conditional writes (the
 * distributed lock); `routingCache` remembers moto's per-request service lookup and keeps
 * connections alive (the benchmark's default, see above); `ownProcessGroup` keeps a terminal's Ctrl-C from reaching it (the owner stops it);
 * `accessLog` pipes moto's stderr, where its server prints one line per request, to the caller
 * (`accessLog`, a stream the caller must keep reading, or moto blocks when the pipe fills).
 */
export async function startMoto({ port, quiet = true, serial = false, routingCache = false, ownProcessGroup = false, accessLog = false } = {}) {
  if (serial && routingCache) throw new Error('startMoto: serial and routingCache are two different servers; pick one');
  assertMotoInstalled();
  const chosen = port ?? (await freePort());
  const args = serial
    ? ['-c', SERIAL_MOTO, String(chosen)]
    : routingCache
      ? ['-c', ROUTING_CACHED_MOTO, String(chosen)]
      : ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(chosen)];
  const child = spawn('python3', args, {
    // Ctrl-C in a terminal signals the whole foreground process group: a moto in its own group
    // keeps serving until its owner stops it (the demo's final up-sync needs it).
    detached: ownProcessGroup,
    stdio: accessLog ? ['ignore', 'ignore', 'pipe'] : quiet ? 'ignore' : 'inherit',
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let exited = false;
  child.on('exit', () => (exited = true));
  const endpoint = `http://127.0.0.1:${chosen}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`moto server exited during start-up (port ${chosen}). ${MOTO_INSTALL_HINT}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto server did not answer on ${endpoint} within 30 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = () =>
    new Promise((resolve) => {
      if (exited) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    });
  return { endpoint, stop, pid: child.pid, accessLog: accessLog ? child.stderr : null };
}
