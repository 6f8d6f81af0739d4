/**
 * s3-sync2's idle tick, measured in-process: the engine wired by src/app.ts `createApp` (no HTTP
 * server: --http-port 0; the safety-net rescan interval under the benchmark's control), an
 * initial sync over a tree already in sync, then the poll loop running; CPU (process.cpuUsage),
 * S3 requests (moto's access log, through the benchmark's counts URL) and moto's CPU are sampled
 * at the end of every tick, so each poll period — the tick and the idle wait after it, watcher
 * included — is measured on its own. Warm-up periods are dropped.
 * Usage: node --import tsx bench/idle-worker.ts '<IdleWorkerOptions as JSON>'
 */
import { writeFileSync } from 'node:fs';
import { loadConfig } from '../src/config.js';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import type { IdlePeriod, IdleResult, IdleWorkerOptions } from './idle.js';
import { processCpuSeconds } from './measure.js';
import { diffCounts, type RequestCounts } from './request-log.js';

/** Seconds between ticks: the shortest poll allowed, so the measurement is quick. */
const POLL_SECONDS = 1;
/** Poll periods run before measuring (JIT warm-up, the watcher's initial crawl). */
const WARMUP_TICKS = 2;
/** A safety-net rescan never falls due inside the measurement unless asked for. */
const NEVER_MS = 24 * 3600_000;

/** One poll period's costs, requests by kind. */
type Period = Omit<IdlePeriod, 'requests'> & { readonly requests: RequestCounts };

async function readCounts(url: string): Promise<RequestCounts> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`read request counts: HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as RequestCounts;
}

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function main(options: Omit<IdleWorkerOptions, 'env' | 'nodeFlags'>): Promise<IdleResult> {
  const config = loadConfig(
    [options.dir, options.uri, '--endpoint-url', options.endpoint, '--poll', String(POLL_SECONDS),
      '--state-dir', options.stateDir, '--http-port', '0', '--debug', 'ERROR', ...options.extraArgs],
    process.env,
  );
  const app = await createApp(config, {
    logger: createLogger(config.logLevel),
    env: process.env,
    version: 'bench',
    rescanIntervalMs: options.rescanEveryTick ? 0 : NEVER_MS,
  });
  const { syncer } = app;
  await syncer.prepare();
  const initial = await syncer.initialSync();
  if (initial.outcome !== 'success') throw new Error(`initial sync failed: ${initial.errors.join('; ')}`);

  syncer.startLoop();
  const lastTickId = (): number => syncer.status().recentTicks.at(-1)?.id ?? 0;
  const periods: Period[] = [];
  let seen = lastTickId();
  let cpu = cpuSeconds();
  let counts = await readCounts(options.countsUrl);
  let moto = processCpuSeconds(options.motoPid);
  const wanted = WARMUP_TICKS + options.ticks;
  const deadline = Date.now() + wanted * 60_000;
  while (periods.length < wanted) {
    if (Date.now() > deadline) throw new Error(`ticks did not come: ${periods.length} of ${wanted} in time`);
    await new Promise((r) => setTimeout(r, 20));
    const id = lastTickId();
    if (id === seen) continue;
    const [nowCpu, nowMoto] = [cpuSeconds(), processCpuSeconds(options.motoPid)];
    const nowCounts = await readCounts(options.countsUrl);
    const tick = syncer.status().recentTicks.at(-1)!;
    if (id !== seen + 1) throw new Error(`missed a tick: saw ${seen} then ${id}`);
    if (tick.outcome !== 'success') throw new Error(`idle tick ${id} failed: ${tick.errors.join('; ')}`);
    const changed = tick.uploaded + tick.downloaded + tick.deletedLocal + tick.deletedRemote + tick.conflicts;
    if (changed > 0) throw new Error(`idle tick ${id} was not idle: ${JSON.stringify(tick)}`);
    periods.push({
      endedAtUs: Number(process.hrtime.bigint() / 1000n),
      tickSeconds: tick.seconds,
      cpuSeconds: nowCpu - cpu,
      requests: diffCounts(counts, nowCounts),
      serverCpuSeconds: nowMoto - moto,
    });
    [seen, cpu, counts, moto] = [id, nowCpu, nowCounts, nowMoto];
  }
  await app.shutdown({ finalSync: false });

  const measured = periods.slice(WARMUP_TICKS);
  const mean = (f: (p: Period) => number): number => measured.reduce((sum, p) => sum + f(p), 0) / measured.length;
  const byKind: Record<string, number> = {};
  for (const p of measured) {
    for (const [kind, n] of Object.entries(p.requests.byKind)) byKind[kind] = (byKind[kind] ?? 0) + n / measured.length;
  }
  return {
    wallSeconds: mean((p) => p.tickSeconds),
    cpuSeconds: mean((p) => p.cpuSeconds),
    requests: mean((p) => p.requests.total),
    byKind,
    serverCpuSeconds: mean((p) => p.serverCpuSeconds),
    periods: periods.map((p) => ({ ...p, requests: p.requests.total })),
  };
}

const options = JSON.parse(process.argv[2] ?? '{}') as Omit<IdleWorkerOptions, 'env' | 'nodeFlags'>;
main(options).then(
  (result) => {
    writeFileSync(options.resultFile, JSON.stringify(result));
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`idle worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
