/** The control server over real HTTP with a scripted SyncController: status codes, bodies, logs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { assessHealth } from '../../src/http/routes/health.js';
import { ScriptedController, ScriptedLock, summary, syncStatus, testConfig } from './doubles.js';
import { parsePrometheus } from './prometheus.js';
import { serve } from './serve.js';

test('GET /health: 503 until the initial sync is done, 200 after, with the reason', async () => {
  const controller = new ScriptedController();
  const s = await serve({ controller });

  const before = await s.fetch('/health');
  assert.equal(before.status, 503);
  const body = await before.json();
  assert.equal(body.status, 'unavailable');
  assert.match(body.reason, /initial sync not done/);
  assert.equal(body.initialSyncDone, false);

  const lastSuccessAt = new Date().toISOString();
  controller.set({ state: 'idle', initialSyncDone: true, lastSuccessAt });
  const afterSync = await s.fetch('/health');
  assert.equal(afterSync.status, 200);
  assert.deepEqual(
    { ...(await afterSync.json()) },
    {
      status: 'ok',
      reason: null,
      state: 'idle',
      initialSyncDone: true,
      lastSuccessAt,
      consecutiveFailures: 0,
      unhealthyAfterFailures: 3,
      lastError: null,
      lock: null,
    },
  );
});

test('GET /health: 503 again once consecutive failures reach the threshold', async () => {
  const controller = new ScriptedController();
  controller.set({ state: 'failing', initialSyncDone: true, maxFailures: 0, consecutiveFailures: 2, lastError: 'list: boom' });
  const s = await serve({ controller });
  assert.equal((await s.fetch('/health')).status, 200, 'two failures are below the default threshold of 3');

  controller.set({ consecutiveFailures: 3 });
  const failing = await s.fetch('/health');
  assert.equal(failing.status, 503);
  const body = await failing.json();
  assert.match(body.reason, /3 consecutive sync failures.*list: boom/);
  assert.equal(body.unhealthyAfterFailures, 3);
});

test('assessHealth: --max-failures N > 0 is the threshold; 0 means the default of 3; stopping is unhealthy', () => {
  const done = { initialSyncDone: true, state: 'idle' as const };
  assert.equal(assessHealth(syncStatus({ ...done, maxFailures: 5, consecutiveFailures: 4 })).healthy, true);
  assert.equal(assessHealth(syncStatus({ ...done, maxFailures: 5, consecutiveFailures: 5 })).healthy, false);
  assert.equal(assessHealth(syncStatus({ ...done, maxFailures: 1, consecutiveFailures: 1 })).healthy, false);
  assert.equal(assessHealth(syncStatus({ ...done, maxFailures: 0, consecutiveFailures: 2 })).healthy, true);
  assert.equal(assessHealth(syncStatus({ ...done, maxFailures: 0, consecutiveFailures: 3 })).healthy, false);
  assert.deepEqual(assessHealth(syncStatus({ ...done, state: 'stopping' })).reason, 'shutting down');
});

test('GET /health reports whether this node holds the distributed lock', async () => {
  const lock = new ScriptedLock();
  lock.held = true;
  const s = await serve({ lock });
  const body = await (await s.fetch('/health')).json();
  assert.deepEqual(body.lock, { ownerId: 'node-a/123', heldByUs: true });
});

test('POST /sync/up waits and answers the summary; a failed tick answers 502 with it', async () => {
  const controller = new ScriptedController();
  const s = await serve({ controller });
  controller.run = async (direction, n) => summary({ id: n, direction, uploaded: 2, bytesUp: 10 });
  const ok = await s.fetch('/sync/up', { method: 'POST' });
  assert.equal(ok.status, 200);
  const body = await ok.json();
  assert.equal(body.uploaded, 2);
  assert.equal(body.bytesUp, 10);
  assert.equal(body.direction, 'up');
  assert.deepEqual(controller.requests, ['up']);

  controller.run = async (direction, n) =>
    summary({ id: n, direction, outcome: 'failure', errors: ['list objects: access denied'] });
  const failed = await s.fetch('/sync/down?wait=true', { method: 'POST' });
  assert.equal(failed.status, 502);
  const failure = await failed.json();
  assert.equal(failure.outcome, 'failure');
  assert.deepEqual(failure.errors, ['list objects: access denied']);
});

test('POST /sync/down?wait=false answers 202 at once, before the tick ends', async () => {
  const controller = new ScriptedController();
  let finish: () => void = () => undefined;
  controller.run = (direction, n) =>
    new Promise((resolve) => {
      finish = () => resolve(summary({ id: n, direction }));
    });
  const s = await serve({ controller });
  // The tick never ends unless the test ends it, so only an immediate answer passes in time.
  const res = await s.fetch('/sync/down?wait=false', { method: 'POST', signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 202);
  assert.deepEqual(await res.json(), { accepted: true, direction: 'down' });
  assert.deepEqual(controller.requests, ['down']);
  finish();
});

test('POST /sync/*: 409 when the direction is disabled, 503 while shutting down', async () => {
  const controller = new ScriptedController();
  controller.disabled.add('down');
  const s = await serve({ controller });
  for (const query of ['', '?wait=false']) {
    const disabled = await s.fetch(`/sync/down${query}`, { method: 'POST' });
    assert.equal(disabled.status, 409);
    assert.match((await disabled.json()).message, /sync down is disabled by --only-up/);
  }
  controller.set({ state: 'stopping' });
  const stopping = await s.fetch('/sync/up', { method: 'POST' });
  assert.equal(stopping.status, 503);
  assert.match((await stopping.json()).message, /shutting down/);
  assert.deepEqual(controller.requests, []);
});

test('ten concurrent POST /sync/up are all answered', async () => {
  const controller = new ScriptedController();
  const s = await serve({ controller });
  const answers = await Promise.all(Array.from({ length: 10 }, () => s.fetch('/sync/up', { method: 'POST' })));
  assert.deepEqual(answers.map((r) => r.status), Array(10).fill(200));
  const bodies = await Promise.all(answers.map((r) => r.json()));
  assert.ok(bodies.every((b) => b.outcome === 'success'));
});

test('a bad or unknown query value gets a 400 naming the parameter', async () => {
  const s = await serve();
  const bad = await s.fetch('/sync/up?wait=maybe', { method: 'POST' });
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), {
    error: 'Bad Request',
    message: 'wait: must be true or false (query parameter, got "maybe")',
  });
  const typo = await s.fetch('/sync/up?wiat=false', { method: 'POST' });
  assert.equal(typo.status, 400);
  assert.match((await typo.json()).message, /^wiat: unknown query parameter/);
});

test('unknown routes answer 404 JSON listing the routes; a wrong method answers 405 with Allow', async () => {
  const s = await serve();
  const missing = await s.fetch('/sync/sideways', { method: 'POST' });
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get('content-type') ?? '', /application\/json/);
  const notFound = await missing.json();
  assert.equal(notFound.error, 'Not Found');
  assert.match(notFound.message, /no route POST \/sync\/sideways; the routes are .*POST \/sync\/up/);

  const wrong = await s.fetch('/sync/up');
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'POST');
  assert.deepEqual(await wrong.json(), { error: 'Method Not Allowed', message: 'GET is not allowed on /sync/up; use POST' });

  const lock = await s.fetch('/lock', { method: 'PUT' });
  assert.equal(lock.status, 405);
  assert.equal(lock.headers.get('allow'), 'GET, POST, DELETE');
});

test('GET /metrics is Prometheus text and counts requests by method, route and status', async () => {
  const s = await serve();
  await s.fetch('/health');
  await s.fetch('/health');
  await s.fetch('/nowhere');
  const res = await s.fetch('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const samples = parsePrometheus(await res.text());
  assert.equal(samples.get('s3sync2_http_requests_total{method="GET",route="/health",status="503"}'), 2);
  assert.equal(samples.get('s3sync2_http_requests_total{method="GET",route="unknown",status="404"}'), 1);
  assert.ok(samples.has('s3sync2_consecutive_failures'));
});

test('GET /status: config with secrets redacted, the loop status, version and uptime', async () => {
  const controller = new ScriptedController();
  controller.set({ state: 'idle', initialSyncDone: true, localFiles: 4, remoteFiles: 5, recentTicks: [summary()] });
  const s = await serve({ controller });
  const res = await s.fetch('/status');
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.version, '0.0.0-test');
  assert.equal(body.distributed, false);
  assert.equal(body.lock, null);
  assert.equal(body.sync.localFiles, 4);
  assert.equal(body.sync.remoteFiles, 5);
  assert.equal(body.sync.recentTicks.length, 1);
  assert.equal(body.config.s3Uri, 's3://bucket/app');
  assert.equal(body.config.aws.endpointUrl, 'https://[redacted]@s3.example.com');
  assert.equal(body.config.up.expires, '2030-01-01T00:00:00.000Z');
  assert.ok(body.uptimeSeconds >= 0);
});

test('GET /status never shows the control token', async () => {
  const s = await serve({ config: testConfig({ controlToken: 's3cr3t-token' }) });
  const text = await (await s.fetch('/status')).text();
  assert.doesNotMatch(text, /s3cr3t-token/);
  assert.equal(JSON.parse(text).config.http.controlToken, '[redacted]');
});

test('request logs are JSON lines; /health and /metrics stay out of the info log', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  const s = await serve({ logger: pino({ level: 'info' }, sink) });
  await s.fetch('/health');
  await s.fetch('/metrics');
  await s.fetch('/sync/up', { method: 'POST' });
  await s.fetch('/status');
  const urls = lines.filter((l) => l.msg === 'request completed').map((l) => l.url);
  assert.deepEqual(urls, ['/sync/up', '/status']);
  const sync = lines.find((l) => l.url === '/sync/up');
  assert.equal(sync?.statusCode, 200);
  assert.equal(typeof sync?.responseTime, 'number');
});
