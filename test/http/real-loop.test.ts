/**
 * The control API over real HTTP with the real sync loop (Syncer) behind it, on moto: health
 * before and after the initial sync, forced uploads, coalescing, the token, metrics, failures.
 * Every answer is also checked against openapi.yaml.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { buildServer, startServer } from '../../src/http/server.js';
import { createMetrics } from '../../src/metrics.js';
import { S3Bucket } from '../../src/remote/bucket.js';
import { createS3Client } from '../../src/remote/client.js';
import { awsEnv, useS3 } from '../helpers/s3.js';
import { testSyncer } from '../helpers/syncer.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { parsePrometheus } from './prometheus.js';
import { loadSpec, ResponseChecker } from './spec.js';

const s3 = useS3();
let checker: ResponseChecker;

before(async () => {
  checker = new ResponseChecker(await loadSpec());
  // The loop's S3 client takes credentials from the environment, as in production.
  for (const [key, value] of Object.entries(awsEnv(s3().endpoint))) process.env[key] ??= value;
});

/** A sidecar in this process: the real Syncer on a temp folder and a fresh bucket, the real server. */
async function sidecar(options: { token?: string; bucket?: string } = {}) {
  const bucket = options.bucket ?? (await s3().newBucket());
  const dir = await tempDir('http-local');
  const state = await tempDir('http-state');
  const argv = [dir, `s3://${bucket}/app`, '--poll', '3600', '--state-dir', state, '--max-failures', '0'];
  if (options.token) argv.push('--control-token', options.token);
  const config = loadConfig(argv, awsEnv(s3().endpoint));
  const metrics = createMetrics({ withDefaults: false });
  const client = createS3Client(config.aws, config.concurrency);
  const syncer = testSyncer({ config, bucket: new S3Bucket(client, bucket), bucketName: bucket, nodeId: 'http-test:1', metrics });
  // As in main: the server listens before the initial sync starts.
  const app = buildServer({ controller: syncer, lock: null, metrics, config, logger: false, version: 'test' });
  const server = await startServer(app, { host: '127.0.0.1', port: 0 });
  after(async () => {
    await syncer.stop({ finalSync: false });
    await server.close();
    client.destroy();
  });
  const call = async (route: string, init: RequestInit = {}, query = '') => {
    const [method, path] = route.split(' ') as [string, string];
    const res = await fetch(`${server.url}${path}${query}`, { method, ...init });
    const body = await checker.check(route, res.clone());
    return { status: res.status, headers: res.headers, body: body as Record<string, unknown> };
  };
  /**
   * Runs the initial sync, then starts the timer and the file watcher as main does, unless
   * `watch: false`: then only HTTP triggers run ticks, so a test knows which tick did the work.
   */
  const start = async ({ watch = true }: { watch?: boolean } = {}) => {
    await syncer.prepare();
    const initial = await syncer.initialSync();
    if (watch) syncer.startLoop();
    return initial;
  };
  return { bucket, dir, syncer, call, start, metricsText: async () => (await call('GET /metrics')).body as unknown as string };
}

test('GET /health answers 503 before the initial sync and 200 once it succeeded', async () => {
  const bucket = await s3().newBucket();
  await s3().putText(bucket, 'app/seed.txt', 'from the bucket');
  const car = await sidecar({ bucket });

  const early = await car.call('GET /health');
  assert.equal(early.status, 503);
  assert.match(String(early.body.reason), /initial sync not done/);
  assert.equal(early.body.initialSyncDone, false);

  const initial = car.start();
  const healthy = await waitFor('health 200', async () => {
    const res = await car.call('GET /health');
    return res.status === 200 ? res : null;
  });
  assert.equal(healthy.body.status, 'ok');
  assert.equal(healthy.body.initialSyncDone, true);
  assert.ok(healthy.body.lastSuccessAt);
  assert.equal((await initial).downloaded, 1);
  assert.equal(await readFile(join(car.dir, 'seed.txt'), 'utf8'), 'from the bucket', 'filled before healthy');
});

test('POST /sync/up uploads a file written just before and answers its counts', async () => {
  const car = await sidecar();
  await car.start({ watch: false });
  const content = 'id,value\n1,42\n';
  await writeFile(join(car.dir, 'report.csv'), content);

  const res = await car.call('POST /sync/up');
  assert.equal(res.status, 200);
  assert.equal(res.body.outcome, 'success');
  assert.equal(res.body.trigger, 'http');
  assert.equal(res.body.uploaded, 1);
  assert.equal(res.body.bytesUp, Buffer.byteLength(content));
  assert.deepEqual(res.body.errors, []);
  assert.equal(await s3().getText(car.bucket, 'app/report.csv'), content);

  const status = await car.call('GET /status');
  const sync = status.body.sync as { localFiles: number; recentTicks: { id: number }[] };
  assert.equal(sync.localFiles, 1);
  assert.equal(sync.recentTicks.at(-1)?.id, res.body.id);
});

test('ten concurrent POST /sync/up: all answered by a sync that started after them, at most two syncs', async () => {
  const car = await sidecar();
  await car.start({ watch: false });
  // Enough files that the first sync is still running when the other nine arrive.
  const files = 120;
  for (let i = 0; i < files; i++) await writeFile(join(car.dir, `f${i}.txt`), `file ${i}`);
  const before = parsePrometheus(await car.metricsText());

  const answers = await Promise.all(
    Array.from({ length: 10 }, async () => {
      const sentAt = Date.now();
      return { sentAt, res: await car.call('POST /sync/up') };
    }),
  );
  for (const { sentAt, res } of answers) {
    assert.equal(res.status, 200);
    assert.equal(res.body.outcome, 'success');
    assert.ok(Date.parse(String(res.body.startedAt)) >= sentAt, 'the sync started after the request');
  }
  const ticks = new Map(answers.map(({ res }) => [res.body.id, res.body]));
  assert.ok(ticks.size <= 2, `at most two syncs ran, saw ${ticks.size}`);
  const uploaded = [...ticks.values()].reduce((n, t) => n + Number(t.uploaded), 0);
  assert.equal(uploaded, files);

  const afterSync = parsePrometheus(await car.metricsText());
  const delta = (name: string) => (afterSync.get(name) ?? 0) - (before.get(name) ?? 0);
  assert.equal(delta('s3sync2_files_total{direction="up",action="upload"}'), files);
  const runs = delta('s3sync2_tick_duration_seconds_count{direction="up",outcome="success"}');
  assert.ok(runs >= 1 && runs <= 2, `tick count moved by ${runs}`);
  assert.ok(delta('s3sync2_bytes_total{direction="up"}') > 0);
  assert.equal(delta('s3sync2_http_requests_total{method="POST",route="/sync/up",status="200"}'), 10);
});

test('with a control token, /sync/up needs it: 401 without, 200 with; a bad wait value is a 400', async () => {
  const token = 'deploy-token-1';
  const car = await sidecar({ token });
  await car.start({ watch: false });
  await writeFile(join(car.dir, 'a.txt'), 'a');

  const refused = await car.call('POST /sync/up');
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="s3-sync2"');
  assert.equal(await s3().head(car.bucket, 'app/a.txt'), null, 'nothing was uploaded');

  const auth = { authorization: `Bearer ${token}` };
  const bad = await car.call('POST /sync/up', { headers: auth }, '?wait=later');
  assert.equal(bad.status, 400);
  assert.match(String(bad.body.message), /^wait: must be true or false/);

  const ok = await car.call('POST /sync/up', { headers: auth });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.uploaded, 1);
  assert.ok(await s3().head(car.bucket, 'app/a.txt'));
});

test('a failing loop: /health stays 503 with the error, /sync/down answers 502 with the summary', async () => {
  const car = await sidecar({ bucket: 's3sync2-test-no-such-bucket' });
  const initial = await car.start();
  assert.equal(initial.outcome, 'failure');

  const health = await car.call('GET /health');
  assert.equal(health.status, 503);
  assert.match(String(health.body.reason), /initial sync not done \(last error: .+\)/);
  assert.equal(health.body.consecutiveFailures, 1);

  const res = await car.call('POST /sync/down');
  assert.equal(res.status, 502);
  assert.equal(res.body.outcome, 'failure');
  assert.ok((res.body.errors as string[]).length > 0);
});
