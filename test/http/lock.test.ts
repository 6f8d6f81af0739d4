/** The /lock routes over HTTP, with distributed mode off and with a scripted lock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScriptedController, ScriptedLock } from './doubles.js';
import { serve } from './serve.js';

const json = { 'content-type': 'application/json' };

test('with distributed mode off every /lock route answers 409 "distributed mode is off"', async () => {
  const s = await serve({ lock: null });
  const requests: [string, RequestInit][] = [
    ['GET', {}],
    ['POST', { headers: json, body: '{"leaseSeconds":60}' }],
    ['DELETE', {}],
  ];
  for (const [method, init] of requests) {
    const res = await s.fetch('/lock', { method, ...init });
    assert.equal(res.status, 409, method);
    const body = await res.json();
    assert.equal(body.error, 'Conflict');
    assert.match(body.message, /^distributed mode is off: .*--dfs/);
    assert.equal(body.lock, null);
  }
});

test('GET /lock shows the holder; POST holds for the app with a lease; DELETE releases', async () => {
  const lock = new ScriptedLock();
  const s = await serve({ lock });
  const free = await (await s.fetch('/lock')).json();
  assert.deepEqual(free, { heldByUs: false, appHoldUntil: null, holder: null, leaseLeftSeconds: null });

  const held = await s.fetch('/lock', { method: 'POST', headers: json, body: '{"leaseSeconds":300}' });
  assert.equal(held.status, 200);
  const body = await held.json();
  assert.equal(body.heldByUs, true);
  assert.equal(body.holder.owner, 'node-a/123');
  assert.ok(Date.parse(body.appHoldUntil) > Date.now() + 290_000);
  assert.deepEqual(lock.holds, [300]);

  const released = await s.fetch('/lock', { method: 'DELETE' });
  assert.equal(released.status, 200);
  assert.equal((await released.json()).heldByUs, false);
});

test('POST /lock validates leaseSeconds (1..3600, integer, required) and names it', async () => {
  const lock = new ScriptedLock();
  const s = await serve({ lock });
  const cases: [string, RegExp][] = [
    ['{"leaseSeconds":0}', /^leaseSeconds: must be >= 1 \(body field, got 0\)$/],
    ['{"leaseSeconds":3601}', /^leaseSeconds: must be <= 3600/],
    ['{"leaseSeconds":1.5}', /^leaseSeconds: must be an integer/],
    ['{}', /^leaseSeconds: is required/],
    ['{"leaseSeconds":5,"lease":5}', /^lease: unknown body field/],
    // Fastify would coerce these to numbers before the schema's integer check.
    ['{"leaseSeconds":"20"}', /^leaseSeconds: must be an integer \(body field, got "20"\)$/],
    ['{"leaseSeconds":true}', /^leaseSeconds: must be an integer \(body field, got true\)$/],
    ['{"leaseSeconds":[30]}', /^leaseSeconds: must be an integer \(body field, got \[30\]\)$/],
    ['{"leaseSeconds":null}', /^leaseSeconds: must be an integer \(body field, got null\)$/],
  ];
  for (const [body, message] of cases) {
    const res = await s.fetch('/lock', { method: 'POST', headers: json, body });
    assert.equal(res.status, 400, body);
    assert.match((await res.json()).message, message, body);
  }
  const noBody = await s.fetch('/lock', { method: 'POST' });
  assert.equal(noBody.status, 400);
  assert.match((await noBody.json()).message, /^body: must be a JSON object/);
  const broken = await s.fetch('/lock', { method: 'POST', headers: json, body: '{leaseSeconds' });
  assert.equal(broken.status, 400);
  assert.equal((await broken.json()).error, 'Bad Request');
  assert.deepEqual(lock.holds, []);
});

test('POST /lock answers 409 naming the holder when the lock cannot be had in time', async () => {
  const lock = new ScriptedLock();
  lock.heldElsewhere = { owner: 'node-b/77', host: 'ip-10-0-0-9' };
  const s = await serve({ lock });
  const res = await s.fetch('/lock', { method: 'POST', headers: json, body: '{"leaseSeconds":60}' });
  assert.equal(res.status, 409);
  const body = await res.json();
  assert.match(body.message, /--dfs-lock-wait.*held by node-b\/77 on ip-10-0-0-9; try again later$/);
  assert.equal(body.lock.holder.owner, 'node-b/77');
  assert.equal(body.lock.holder.generation, 7);
});

test('GET /status includes the lock when distributed mode is on', async () => {
  const lock = new ScriptedLock();
  lock.held = true;
  const s = await serve({ lock });
  const body = await (await s.fetch('/status')).json();
  assert.equal(body.distributed, true);
  assert.equal(body.lock.heldByUs, true);
  assert.equal(body.lockError, null);
});

test('while the sidecar shuts down, POST /lock answers 503 (a new hold would keep the final sync out); GET and DELETE still work', async () => {
  const lock = new ScriptedLock();
  const controller = new ScriptedController();
  const s = await serve({ lock, controller });
  controller.set({ state: 'stopping' });
  const refused = await s.fetch('/lock', { method: 'POST', headers: json, body: '{"leaseSeconds":60}' });
  assert.equal(refused.status, 503);
  assert.match((await refused.json()).message, /shutting down/);
  assert.deepEqual(lock.holds, []);
  assert.equal((await s.fetch('/lock')).status, 200);
  assert.equal((await s.fetch('/lock', { method: 'DELETE' })).status, 200);
});

test('a hold still waiting when the shutdown closes the lock answers 503, not 500', async () => {
  const lock = new ScriptedLock();
  lock.holdForApp = async () => {
    throw Object.assign(new Error('lock app/.s3-sync2.lock: closed for shutdown, no more remote writes'), { name: 'LockClosedError' });
  };
  const s = await serve({ lock });
  const res = await s.fetch('/lock', { method: 'POST', headers: json, body: '{"leaseSeconds":60}' });
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { error: 'Service Unavailable', message: 'lock app/.s3-sync2.lock: closed for shutdown, no more remote writes' });
});
