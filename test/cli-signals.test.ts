/**
 * Shutdown of the built CLI on SIGTERM / SIGINT, as ECS and a terminal send them: one final
 * up-sync carries a file written just before the signal, then exit 0; and --shutdown-timeout
 * bounds the shutdown when the store stalls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
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

test('SIGTERM with --conflict keep-both: a local edit that conflicts with a remote one reaches the bucket before exit (up-only rounds keep it aside)', async () => {
  const dir = await tempDir('cli-signal-conflict');
  const bucket = await s3().newBucket();
  await writeFile(join(dir, 'doc.txt'), 'first version');
  const cli = startCli([dir, `s3://${bucket}/app`, '--poll', '3600', '--http-port', '0', '--conflict', 'keep-both'], awsEnv(s3().endpoint));
  await cli.waitForLine('the initial sync', initialDone);

  // Another task edits the object, then this task's app edits the file: no two-way round comes
  // before the signal (the watcher's rounds and the final sync are up only).
  await s3().putText(bucket, 'app/doc.txt', 'edited by another task');
  await writeFile(join(dir, 'doc.txt'), 'edited here, right before shutdown');
  cli.signal('SIGTERM');
  const exit = await cli.exit();

  assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr());
  assert.equal(await s3().getText(bucket, 'app/doc.txt'), 'edited by another task');
  const copies = (await s3().keys(bucket)).filter((key) => key.startsWith('app/doc.conflict-'));
  assert.equal(copies.length, 1, `one conflict copy, got ${copies.join(', ')}`);
  assert.equal(await s3().getText(bucket, copies[0]!), 'edited here, right before shutdown');
});

test('SIGTERM while the app appends to a 20 MiB log every 50 ms: the final up-sync uploads a version the file had (from a snapshot), exit 0', async () => {
  const dir = await tempDir('cli-signal-busy');
  const bucket = await s3().newBucket();
  const cli = startCli([dir, `s3://${bucket}/app`, '--poll', '3600', '--http-port', '0'], awsEnv(s3().endpoint));
  await cli.waitForLine('the initial sync', initialDone);

  // The app still writes its log when the task is stopped: every upload of it is overtaken.
  const log = join(dir, 'app.log');
  await writeFile(log, randomBytes(20 * 1024 * 1024));
  let writing = true;
  const writer = (async () => {
    while (writing) {
      await appendFile(log, randomBytes(4096));
      await sleep(50);
    }
  })();
  let exit;
  try {
    await sleep(500);
    cli.signal('SIGTERM');
    exit = await cli.exit();
  } finally {
    writing = false;
    await writer;
  }

  assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr());
  assert.deepEqual(await s3().keys(bucket), ['app/app.log'], 'the log is in the bucket, no snapshot copy beside it');
  const object = await s3().getBuffer(bucket, 'app/app.log');
  const file = await readFile(log);
  assert.ok(object.length >= 20 * 1024 * 1024, `${object.length} bytes`);
  assert.ok(object.equals(file.subarray(0, object.length)), 'the object is the log as it was at one moment');
  assert.deepEqual(await readdir(dir), ['.s3-sync2-state', 'app.log'], 'no snapshot copy left');
  assert.ok(cli.lines.some((l) => l.msg.includes('uploading a snapshot of it')), 'uploaded from a snapshot');
});

/** A sidecar (`--poll 3600 --shutdown-timeout 2`) whose S3 traffic passes a gate proxy. */
async function behindGate(flags: readonly string[], initially: 'open' | 'closed' = 'open') {
  const dir = await tempDir('cli-stall');
  const bucket = await s3().newBucket();
  const gate = await startGateProxy(s3().endpoint, initially);
  const cli = startCli([dir, `s3://${bucket}/app`, '--poll', '3600', '--http-port', '0', '--shutdown-timeout', '2', ...flags], {
    ...awsEnv(s3().endpoint),
    AWS_ENDPOINT_URL: gate.url,
  });
  /** Sends SIGTERM, waits for the exit; resolves with it and the seconds it took. */
  const terminate = async (stalled: () => boolean) => {
    const signalledAt = Date.now();
    cli.signal('SIGTERM');
    await waitFor('the shutdown to reach the stalled store', stalled, { timeoutMs: 30_000 });
    const exit = await cli.exit(45_000);
    return { exit, seconds: (Date.now() - signalledAt) / 1000 };
  };
  return { dir, bucket, gate, cli, terminate };
}

/** Bound on the exit after SIGTERM: --shutdown-timeout 2 plus slack for a loaded machine. */
const BOUND_SECONDS = 20;

for (const mode of [[], ['--dfs']]) {
  test(`--shutdown-timeout bounds the shutdown when the store stalls${mode.length ? ' (--dfs: lock pending)' : ''}: exit 0 in time, the overrun logged`, async () => {
    const { dir, bucket, gate, cli, terminate } = await behindGate(mode);
    await cli.waitForLine('the initial sync', initialDone);

    gate.close();
    await writeFile(join(dir, 'stuck.txt'), 'never gets through');
    const before = gate.received;
    const { exit, seconds } = await terminate(() => gate.held > 0 && gate.received > before);

    assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr());
    // Without the bound the stalled request would wait out the 60 s read timeout, then retry.
    assert.ok(seconds < BOUND_SECONDS, `exited ${seconds.toFixed(1)} s after SIGTERM`);
    assert.ok(
      cli.lines.some((l) => l.level >= LEVEL.error && l.msg.includes('--shutdown-timeout')),
      'the overrun is logged as an error',
    );
    assert.ok(cli.lines.some((l) => l.msg === 'stopped' && l.finalSyncComplete === false), 'and the last line says so');
    await gate.stop();
    assert.equal(await s3().head(bucket, 'app/stuck.txt'), null, 'the stalled upload never completed');
  });
}

test('SIGTERM during start-up (--dfs probe stuck on a stalled store) exits 0 promptly', async () => {
  const { gate, cli, terminate } = await behindGate(['--dfs'], 'closed');
  await waitFor('the start-up probe to reach the stalled store', () => gate.held > 0, { timeoutMs: 60_000 });
  const { exit, seconds } = await terminate(() => true);

  assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr());
  assert.ok(seconds < BOUND_SECONDS, `exited ${seconds.toFixed(1)} s after SIGTERM`);
});

test('--dfs: an upload stalled under the lock at shutdown is cut off by --shutdown-timeout and the lock is still released', async () => {
  const { dir, bucket, gate, cli, terminate } = await behindGate(['--dfs', '--debug', 'DEBUG']);
  await cli.waitForLine('the initial sync', initialDone);

  // Only the upload stalls; the lock's own requests go through.
  gate.close((req) => (req.url ?? '').includes('stuck.txt'));
  await writeFile(join(dir, 'stuck.txt'), 'never gets through');
  const { exit, seconds } = await terminate(() => gate.held > 0);

  assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr());
  assert.ok(seconds < BOUND_SECONDS, `exited ${seconds.toFixed(1)} s after SIGTERM`);
  assert.ok(cli.lines.some((l) => l.msg === 'lock acquired'), 'the final up-sync took the lock');
  assert.ok(cli.lines.some((l) => l.msg === 'lock released'), 'and released it on the way out');
  assert.equal(await s3().head(bucket, 'app/.s3-sync2.lock'), null, 'no lock left for others to wait out');
});

test('a multipart upload cut off by --shutdown-timeout is aborted, its parts in flight cut off, not left in the bucket', async () => {
  const { dir, bucket, gate, cli, terminate } = await behindGate([]);
  await cli.waitForLine('the initial sync', initialDone);

  // Parts from the second on never get an answer (a link that stalled under them); the rest of
  // the store still answers, the abort of the upload included.
  gate.close((req) => Number(/[?&]partNumber=(\d+)/.exec(req.url ?? '')?.[1] ?? 0) >= 2);
  await writeFile(join(dir, 'big.bin'), randomBytes(80 * 1024 * 1024));
  const { exit, seconds } = await terminate(() => gate.held >= 4);

  assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr());
  assert.ok(seconds < BOUND_SECONDS, `exited ${seconds.toFixed(1)} s after SIGTERM`);
  assert.equal(await s3().head(bucket, 'app/big.bin'), null);
  const uploads = await s3().client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  assert.deepEqual(uploads.Uploads ?? [], [], 'no unfinished multipart upload left behind');
  assert.ok(cli.lines.some((l) => l.msg === 'stopped' && l.finalSyncComplete === false));
  await gate.stop();
});
