/** Who may call the mutating routes: token rules, and loopback-only callers without a token. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { decideAccess, isLoopbackAddress } from '../../src/http/auth.js';
import { ScriptedController, ScriptedLock, testConfig } from './doubles.js';
import { serve } from './serve.js';

const TOKEN = 'correct-horse-battery-staple';

test('with a control token, mutating routes answer 401 without it or with a wrong one, 200 with it', async () => {
  const controller = new ScriptedController();
  const s = await serve({ controller, config: testConfig({ controlToken: TOKEN }) });

  const missing = await s.fetch('/sync/up', { method: 'POST' });
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="s3-sync2"');
  const body = await missing.json();
  assert.equal(body.error, 'Unauthorized');
  assert.match(body.message, /POST \/sync\/up needs a control token: send 'Authorization: Bearer <token>'.*--control-token/);

  for (const authorization of [`Bearer ${TOKEN}x`, 'Bearer x', `Basic ${TOKEN}`, TOKEN]) {
    const wrong = await s.fetch('/sync/up', { method: 'POST', headers: { authorization } });
    assert.equal(wrong.status, 401, authorization);
  }
  assert.deepEqual(controller.requests, [], 'no sync ran for a refused caller');

  const ok = await s.fetch('/sync/up', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(ok.status, 200);
  assert.deepEqual(controller.requests, ['up']);
});

test('the token guards POST and DELETE /lock but not the read-only routes', async () => {
  const lock = new ScriptedLock();
  const s = await serve({ lock, config: testConfig({ controlToken: TOKEN }) });
  const json = { 'content-type': 'application/json' };
  assert.equal((await s.fetch('/lock', { method: 'POST', headers: json, body: '{"leaseSeconds":60}' })).status, 401);
  assert.equal((await s.fetch('/lock', { method: 'DELETE' })).status, 401);
  assert.deepEqual(lock.holds, []);
  for (const path of ['/health', '/metrics', '/status', '/lock']) {
    assert.notEqual((await s.fetch(path)).status, 401, path);
  }
  const held = await s.fetch('/lock', {
    method: 'POST',
    headers: { ...json, authorization: `Bearer ${TOKEN}` },
    body: '{"leaseSeconds":60}',
  });
  assert.equal(held.status, 200);
  assert.deepEqual(lock.holds, [60]);
});

test('a refused caller gets 401 before its query is validated', async () => {
  const s = await serve({ config: testConfig({ controlToken: TOKEN }) });
  assert.equal((await s.fetch('/sync/up?wait=maybe', { method: 'POST' })).status, 401);
});

/** A non-loopback IPv4 address of this machine, if it has one. */
function externalAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

const external = externalAddress();

test(
  'without a token, on 0.0.0.0: a non-loopback caller gets 403 saying to set --control-token; loopback passes',
  { skip: external ? false : 'this machine has no non-loopback address (decideAccess is unit-tested below)' },
  async () => {
    const controller = new ScriptedController();
    const s = await serve({ controller }, { host: '0.0.0.0' });
    const port = new URL(s.url).port;

    const remote = await fetch(`http://${external}:${port}/sync/up`, { method: 'POST' });
    assert.equal(remote.status, 403);
    const body = await remote.json();
    assert.equal(body.error, 'Forbidden');
    assert.match(body.message, new RegExp(`from ${external!.replaceAll('.', '\\.')} refused: no control token is set`));
    assert.match(body.message, /--control-token/);
    assert.equal((await fetch(`http://${external}:${port}/health`)).status, 503, 'reads stay open to everyone');
    assert.deepEqual(controller.requests, []);

    assert.equal((await s.fetch('/sync/up', { method: 'POST' })).status, 200, 'loopback caller');
    assert.deepEqual(controller.requests, ['up']);
  },
);

test('decideAccess: token checks first, then loopback-only without a token', () => {
  const ask = (token: string | undefined, authorization: string | undefined, remoteAddress: string) =>
    decideAccess({ token, authorization, remoteAddress, what: 'POST /sync/up' });
  assert.deepEqual(ask(undefined, undefined, '127.0.0.1'), { allowed: true });
  assert.deepEqual(ask('', undefined, '::ffff:127.0.0.1'), { allowed: true }, "'' means no token");
  const refused = ask(undefined, undefined, '10.0.0.7');
  assert.equal(refused.allowed, false);
  assert.equal(refused.allowed === false && refused.status, 403);
  assert.equal(ask('t', undefined, '127.0.0.1').allowed, false, 'a token is needed even on loopback');
  assert.equal(ask('t', 'Bearer t', '10.0.0.7').allowed, true);
  assert.equal(ask('t', 'bearer   t', '10.0.0.7').allowed, true, 'the scheme is case-insensitive');
  assert.equal(ask('t', 'Bearer tt', '10.0.0.7').allowed, false);
});

test('isLoopbackAddress', () => {
  for (const a of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
    assert.equal(isLoopbackAddress(a), true, a);
  }
  for (const a of ['0.0.0.0', '::', '10.0.0.1', '192.0.2.2', '::ffff:10.0.0.1', '127.example.com', '', undefined]) {
    assert.equal(isLoopbackAddress(a), false, String(a));
  }
});
