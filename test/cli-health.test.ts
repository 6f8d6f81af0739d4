/**
 * `/health` of the built CLI, as the ECS container health check sees it: the server listens
 * before the initial sync and answers 503 while that sync cannot finish (the store is held
 * stalled by a gate proxy), then 200 once it has succeeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
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
