/**
 * `/health` of the built CLI, as the ECS container health check sees it: the server listens
 * before the initial sync and answers 503 while that sync cannot finish (the store is held
 * stalled by a gate proxy), then 200 once it has succeeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../scripts/moto.mjs';
import { startCli, tickLines } from './helpers/cli.js';
import { startGateProxy } from './helpers/gate-proxy.js';
import { awsEnv, useS3 } from './helpers/s3.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const s3 = useS3();

interface Health {
  readonly status: number;
  readonly body: { status: string; initialSyncDone: boolean; state: string };
}

async function health(port: number): Promise<Health> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: res.status, body: (await res.json()) as Health['body'] };
}

test('/health answers 503 while the initial sync is stuck on S3 and 200 once it has succeeded', async () => {
  const dir = await tempDir('cli-health');
  const bucket = await s3().newBucket();
  await writeFile(join(dir, 'a.txt'), 'a');
  const gate = await startGateProxy(s3().endpoint, 'closed');
  const port = await freePort();
  const cli = startCli(
    [dir, `s3://${bucket}/app`, '--poll', '3600', '--http-port', String(port), '--http-host', '127.0.0.1'],
    { ...awsEnv(s3().endpoint), AWS_ENDPOINT_URL: gate.url },
  );

  // The initial sync's first request is held at the gate; the server already answers.
  await waitFor('the initial sync to reach the stalled store', () => gate.held > 0, { timeoutMs: 60_000 });
  const early = await waitFor('/health to answer', () => health(port), { timeoutMs: 30_000 });
  assert.equal(early.status, 503);
  assert.equal(early.body.status, 'unavailable');
  assert.equal(early.body.initialSyncDone, false);
  assert.equal(tickLines(cli.lines).length, 0, 'no tick has finished yet');

  gate.open();
  const ready = await waitFor('/health to turn 200', async () => {
    const h = await health(port);
    return h.status === 200 ? h : null;
  }, { timeoutMs: 60_000 });
  assert.equal(ready.body.status, 'ok');
  assert.equal(ready.body.initialSyncDone, true);
  assert.equal(await s3().getText(bucket, 'app/a.txt'), 'a', 'healthy only after the initial sync did its work');
  // The process serves Node's own metrics beside the sidecar's (they are off only without a server).
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /^s3sync2_process_cpu_seconds_total /m);
  assert.match(metrics, /^s3sync2_files_total\{direction="up",action="upload"\} 1$/m);

  cli.signal('SIGTERM');
  assert.deepEqual(await cli.exit(), { code: 0, signal: null }, cli.stderr());
});

test('an init container (--only-down --init-sync-down --poll 0) hands the prefix and its baseline to the sidecar: healthy on its first tick, nothing moved twice', async () => {
  const dir = await tempDir('cli-init-container');
  const bucket = await s3().newBucket();
  await s3().putText(bucket, 'app/data/sub/a.txt', 'a');
  await s3().putText(bucket, 'app/data/b.txt', 'b');
  // The two containers of the README's task definition: the same image and environment, one
  // volume, the state folder on it.
  const env = {
    ...awsEnv(s3().endpoint),
    LOCAL_PATH: dir,
    S3_URI: `s3://${bucket}/app/data`,
    STATE_DIR: join(dir, '.s3-sync2-state'),
  };

  // As the README's init container runs it: its command's flags, its own few variables.
  const init = startCli(['--only-down', '--init-sync-down'], { ...env, POLL_INTERVAL: '0', HTTP_PORT: '0', DFS: 'false' });
  assert.deepEqual(await init.exit(), { code: 0, signal: null }, init.stderr());
  assert.equal(await readFile(join(dir, 'sub/a.txt'), 'utf8'), 'a');
  assert.equal(await readFile(join(dir, 'b.txt'), 'utf8'), 'b');

  const port = await freePort();
  const sidecar = startCli([], { ...env, POLL_INTERVAL: '3600', HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1', DFS: 'true' });
  const ready = await waitFor('/health to turn 200', async () => {
    const h = await health(port).catch(() => null);
    return h?.status === 200 ? h : null;
  }, { timeoutMs: 60_000 });
  assert.equal(ready.body.initialSyncDone, true);
  const resumed = await sidecar.waitForLine('the baseline the init run saved', (l) => l.msg === 'resuming from the saved baseline', 5_000);
  assert.equal(resumed.baseline, 2);
  const [first] = tickLines(sidecar.lines);
  assert.equal(first?.tick.trigger, 'initial');
  assert.deepEqual([first?.tick.downloaded, first?.tick.uploaded, first?.tick.deletedLocal, first?.tick.deletedRemote], [0, 0, 0, 0]);

  sidecar.signal('SIGTERM');
  assert.deepEqual(await sidecar.exit(), { code: 0, signal: null }, sidecar.stderr());
});
