/**
 * Shutdown of the built CLI on SIGTERM / SIGINT, as ECS and a terminal send them: one final
 * up-sync carries a file written just before the signal, then exit 0; and --shutdown-timeout
 * bounds the shutdown when the store stalls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LEVEL, startCli, tickLines } from './helpers/cli.js';
import { startGateProxy } from './helpers/gate-proxy.js';
import { awsEnv, useS3 } from './helpers/s3.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const s3 = useS3();

const initialDone = (l: Parameters<typeof tickLines>[0][number]) =>
  tickLines([l]).some((t) => t.tick.trigger === 'initial' && t.tick.outcome === 'success');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} with --poll 3600: a file written just before the signal is uploaded by the final up-sync, exit 0`, async () => {
    const dir = await tempDir('cli-signal');
    const bucket = await s3().newBucket();
    await writeFile(join(dir, 'early.txt'), 'early');
    const cli = startCli([dir, `s3://${bucket}/app`, '--poll', '3600', '--http-port', '0'], awsEnv(s3().endpoint));
    await cli.waitForLine('the initial sync', initialDone);
    assert.deepEqual(await s3().keys(bucket), ['app/early.txt']);

    // No timer tick comes within the test; the watcher's debounced tick is cut short by the signal.
    await writeFile(join(dir, 'last-words.txt'), 'written right before shutdown');
    cli.signal(signal);
    const exit = await cli.exit();

    assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr());
    assert.equal(await s3().getText(bucket, 'app/last-words.txt'), 'written right before shutdown');
    const final = tickLines(cli.lines).find((t) => t.tick.trigger === 'shutdown');
    assert.ok(final, 'a summary line for the final up-sync');
    assert.equal(final.tick.direction, 'up');
    assert.equal(final.tick.uploaded, 1, 'the final up-sync uploaded the late file');
    assert.ok(cli.lines.some((l) => l.msg === 'shutting down' && l.why === signal));
    assert.ok(cli.lines.some((l) => l.msg === 'stopped' && l.code === 0));
  });
}

for (const mode of [[], ['--dfs']]) {
test(`--shutdown-timeout bounds the shutdown when the store stalls${mode.length ? ' (--dfs: lock pending)' : ''}: exit 0 in time, the overrun logged`, async () => {
  const dir = await tempDir('cli-stall');
  const bucket = await s3().newBucket();
  const gate = await startGateProxy(s3().endpoint);
  const cli = startCli(
    [dir, `s3://${bucket}/app`, '--poll', '3600', '--http-port', '0', '--shutdown-timeout', '2', ...mode],
    { ...awsEnv(s3().endpoint), AWS_ENDPOINT_URL: gate.url },
  );
  await cli.waitForLine('the initial sync', initialDone);

  gate.close();
  await writeFile(join(dir, 'stuck.txt'), 'never gets through');
  const before = gate.received;
  const signalledAt = Date.now();
  cli.signal('SIGTERM');
  await waitFor('the final up-sync to reach the stalled store', () => gate.held > 0 && gate.received > before, { timeoutMs: 30_000 });
  const exit = await cli.exit(45_000);
  const seconds = (Date.now() - signalledAt) / 1000;

  assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr());
  // Without the bound the stalled request would wait out the 60 s read timeout, then retry.
  assert.ok(seconds < 20, `exited ${seconds.toFixed(1)} s after SIGTERM (timeout 2 s plus start-up slack)`);
  assert.ok(
    cli.lines.some((l) => l.level >= LEVEL.error && l.msg.includes('--shutdown-timeout')),
    'the overrun is logged as an error',
  );
  await gate.stop();
  assert.equal(await s3().head(bucket, 'app/stuck.txt'), null, 'the stalled upload never completed');
});
}

test('SIGTERM during start-up (--dfs probe stuck on a stalled store) exits 0 promptly', async () => {
  const dir = await tempDir('cli-stall');
  const bucket = await s3().newBucket();
  const gate = await startGateProxy(s3().endpoint, 'closed');
  const cli = startCli(
    [dir, `s3://${bucket}/app`, '--dfs', '--poll', '3600', '--http-port', '0', '--shutdown-timeout', '2'],
    { ...awsEnv(s3().endpoint), AWS_ENDPOINT_URL: gate.url },
  );
  await waitFor('the start-up probe to reach the stalled store', () => gate.held > 0, { timeoutMs: 60_000 });
  const signalledAt = Date.now();
  cli.signal('SIGTERM');
  const exit = await cli.exit(45_000);
  const seconds = (Date.now() - signalledAt) / 1000;

  assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr());
  assert.ok(seconds < 20, `exited ${seconds.toFixed(1)} s after SIGTERM`);
});
