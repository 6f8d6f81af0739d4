/**
 * The benchmark's cases: each tool runs the same work against its own fresh prefix or folder,
 * measured (wall, client CPU, S3 requests, moto CPU) and then verified.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { BenchConfig, CaseName } from './config.js';
import { compareListings, listTree, type Tree } from './data.js';
import { putFromMemory } from './floor.js';
import { processCpuSeconds, runMeasured, type Measured } from './measure.js';
import { TOOLS, type Row, type ToolLabel } from './report.js';
import { diffCounts, type RequestLog } from './request-log.js';
import { putTree, removePrefix } from './s3.js';
import { awsSync, initialSyncSeconds, originalPoll, s3sync2Once } from './tools.js';
import { runIdleWorker } from './idle.js';
import { verifyDownloaded, verifyUploaded } from './verify.js';

/** What every case needs. */
export interface BenchContext {
  readonly config: BenchConfig;
  readonly client: S3Client;
  readonly bucket: string;
  /** moto, where every tool sends its requests. */
  readonly endpoint: string;
  /** moto's access log, counting the requests. */
  readonly requests: RequestLog;
  /** `requests.counts()` over HTTP, for the idle worker's process. */
  readonly countsUrl: string;
  readonly motoPid: number;
  readonly env: NodeJS.ProcessEnv;
  /** Scratch folder, removed at the end. */
  readonly scratch: string;
  /** Extra node flags for s3-sync2 runs (BENCH_NODE_FLAGS, e.g. --cpu-prof). */
  readonly nodeFlags: readonly string[];
  /** Extra s3-sync2 options for every s3-sync2 run (BENCH_S3SYNC2_ARGS, e.g. --concurrency 10). */
  readonly s3sync2Args: readonly string[];
  /** Prints progress. */
  readonly log: (line: string) => void;
}

/** Runs one shell command as one tool of one case and measures it. */
export async function measureCommand(ctx: BenchContext, caseName: CaseName, tool: ToolLabel, script: string): Promise<Row> {
  return (await measureCommandOutput(ctx, caseName, tool, script)).row;
}

/** `measureCommand`, with the end of what the command printed. */
function measureCommandOutput(ctx: BenchContext, caseName: CaseName, tool: ToolLabel, script: string): Promise<{ row: Row; outputTail: string }> {
  return measure(ctx, caseName, tool, () => runMeasured(script, { env: ctx.env, label: `${tool} (${caseName})` }));
}

/**
 * Runs `work` as one tool of one case: its own wall and CPU, moto's requests and CPU meanwhile;
 * resolves the row and whatever else `work` measured.
 */
async function measure<M extends Measured>(ctx: BenchContext, caseName: CaseName, tool: ToolLabel, work: () => Promise<M>): Promise<M & { row: Row }> {
  ctx.log(`  ${caseName}: ${tool} …`);
  const before = await ctx.requests.counts();
  const motoBefore = processCpuSeconds(ctx.motoPid);
  const measured = await work();
  const motoAfter = processCpuSeconds(ctx.motoPid);
  const requests = diffCounts(before, await ctx.requests.counts());
  const row: Row = {
    caseName,
    tool,
    wallSeconds: measured.wallSeconds,
    cpuSeconds: measured.cpuSeconds,
    requests: requests.total,
    byKind: requests.byKind,
    serverCpuSeconds: motoAfter - motoBefore,
  };
  ctx.log(`    ${row.wallSeconds.toFixed(2)} s wall, ${row.cpuSeconds.toFixed(2)} s CPU, ${row.requests} requests`);
  return { ...measured, row };
}

/**
 * s3-sync2 as a one-shot sync between `dir` and `uri` (`init` names the side that wins), measured,
 * with the initial sync's own time read from its log.
 */
async function measureOneShot(ctx: BenchContext, caseName: CaseName, dir: string, uri: string, init: 'up' | 'down'): Promise<Row> {
  const script = s3sync2Once({ endpoint: ctx.endpoint, dir, uri, init, stateDir: freshStateDir(ctx), nodeFlags: ctx.nodeFlags, extraArgs: ctx.s3sync2Args });
  const { row, outputTail } = await measureCommandOutput(ctx, caseName, TOOLS.s3sync2, script);
  const syncSeconds = initialSyncSeconds(outputTail);
  if (syncSeconds === undefined) ctx.log('    (no initial sync summary in its log: logged below INFO?)');
  return { ...row, syncSeconds };
}

let stateDirs = 0;
function freshStateDir(ctx: BenchContext): string {
  return join(ctx.scratch, `state-${++stateDirs}`);
}

/**
 * The run with the median wall time of each tool's `runs` (the lower middle one for an even count).
 * The tools take turns in a different order each run, every order once before any repeats (two
 * tools: A B, B A; three: A B C, A C B, B A C, …): a run leaves moto's memory warmer or colder for
 * the next one, which a fixed order would charge to the tool that always runs second.
 */
export async function medianRuns(runs: number, steps: readonly Step[]): Promise<Row[]> {
  const orders = permutations(steps);
  const byTool = new Map<string, Row[]>();
  for (let run = 1; run <= runs; run++) {
    const suffix = runs > 1 ? `-${run}` : '';
    for (const step of orders[(run - 1) % orders.length]!) {
      const row = await step(suffix);
      byTool.set(row.tool, [...(byTool.get(row.tool) ?? []), row]);
    }
  }
  return [...byTool.values()].map((rows) => {
    const sorted = [...rows].sort((a, b) => a.wallSeconds - b.wallSeconds);
    return sorted[Math.floor((sorted.length - 1) / 2)]!;
  });
}

/** Every order of `items`, in lexicographic order of their positions. */
function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((first, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [first, ...rest]));
}

/** One tool's turn in a run: measures it (its target named with `suffix`) and checks the result. */
export type Step = (suffix: string) => Promise<Row>;

/**
 * Upload of `source` by each tool into its own empty prefix, `runs` times; returns the median
 * rows and a verified prefix.
 */
export async function uploadCase(ctx: BenchContext, caseName: CaseName, source: Tree, runs: number): Promise<{ rows: Row[]; prefix: string }> {
  const { bucket, config } = ctx;
  let verified = '';
  /**
   * A tool's upload into `<case>-<name><suffix>/`, verified, then deleted unless it is the first
   * (kept for the download case): moto keeps every object over 5 MiB in a file on disk, and the
   * 18 runs of 8 × 16 MiB left 2.3 GB of unwritten pages behind, whose writeback slowed whichever
   * runs came later (the floor itself took 0.6-1.7 s within one series).
   */
  const upload = (name: string, measureInto: (prefix: string) => Promise<Row>): Step => async (suffix) => {
    const prefix = `${caseName}-${name}${suffix}`;
    const row = await measureInto(prefix);
    await verifyUploaded(ctx.client, bucket, prefix, source, config.sampleFiles);
    if (verified === '') verified = prefix;
    else await removePrefix(ctx.client, bucket, prefix);
    return row;
  };
  const steps: Step[] = [];
  if (config.tools.has('aws')) {
    steps.push(upload('aws', (prefix) => measureCommand(ctx, caseName, TOOLS.aws, awsSync(ctx.endpoint, source.root, `s3://${bucket}/${prefix}`))));
  }
  if (config.tools.has('s3-sync2')) {
    steps.push(upload('s3sync2', (prefix) => measureOneShot(ctx, caseName, source.root, `s3://${bucket}/${prefix}`, 'up')));
  }
  if (config.tools.has('floor')) {
    steps.push(upload('floor', async (prefix) => (await measure(ctx, caseName, TOOLS.floor, () => putFromMemory(ctx.endpoint, bucket, prefix, source))).row));
  }
  const rows = await medianRuns(runs, steps);
  return { rows, prefix: verified };
}

/**
 * Download of the objects under `prefix` (holding exactly `source`) by each tool into its own
 * empty folder, `runs` times; returns the median rows. Without a prefix from an upload case, the
 * objects are put there first (untimed).
 */
export async function downloadCase(ctx: BenchContext, caseName: CaseName, source: Tree, prefix: string, runs: number): Promise<Row[]> {
  const { config } = ctx;
  if (!prefix) {
    prefix = `${caseName}-source`;
    ctx.log(`  ${caseName}: putting ${source.files.size} objects under ${prefix}/ (setup, not timed)`);
    await putTree(ctx.client, ctx.bucket, prefix, source);
  }
  const uri = `s3://${ctx.bucket}/${prefix}`;
  /** A tool's download into its own empty folder `<case>-<name><suffix>`, verified, then removed (as uploads are). */
  const download = (name: string, measureInto: (dir: string) => Promise<Row>): Step => async (suffix) => {
    const dir = join(ctx.scratch, `${caseName}-${name}${suffix}`);
    await mkdir(dir);
    const row = await measureInto(dir);
    await verifyDownloaded(dir, source, config.sampleFiles);
    await rm(dir, { recursive: true, force: true });
    return row;
  };
  const steps: Step[] = [];
  if (config.tools.has('aws')) steps.push(download('aws', (dir) => measureCommand(ctx, caseName, TOOLS.aws, awsSync(ctx.endpoint, uri, dir))));
  if (config.tools.has('s3-sync2')) steps.push(download('s3sync2', (dir) => measureOneShot(ctx, caseName, dir, uri, 'down')));
  return medianRuns(runs, steps);
}

/**
 * A poll with nothing to do, over `source` already in sync with `idle/`: the no-op `aws s3 sync`
 * down, the original tool's poll, and s3-sync2's steady-state ticks (measured in-process).
 */
export async function idleCase(ctx: BenchContext, source: Tree): Promise<Row[]> {
  const { bucket, config } = ctx;
  const prefix = 'idle';
  const uri = `s3://${bucket}/${prefix}`;
  ctx.log(`  idle: putting ${source.files.size} objects under ${prefix}/ (setup, not timed)`);
  await putTree(ctx.client, bucket, prefix, source);
  const rows: Row[] = [];
  const assertIdle = async (row: Row): Promise<void> => {
    const wrote = Object.entries(row.byKind).filter(([kind]) => kind !== 'LIST' && kind !== 'HEAD');
    if (wrote.length > 0) throw new Error(`idle: ${row.tool} was not a no-op (${JSON.stringify(row.byKind)})`);
    const problem = compareListings(source.files, await listTree(source.root), source.root);
    if (problem) throw new Error(`idle: ${row.tool} changed the folder: ${problem}`);
  };
  if (config.tools.has('aws')) {
    for (const [tool, script] of [
      [TOOLS.awsNoop, awsSync(ctx.endpoint, uri, source.root)],
      [TOOLS.original, originalPoll(ctx.endpoint, source.root, uri)],
    ] as const) {
      const row = await measureCommand(ctx, 'idle', tool, script);
      await assertIdle(row);
      rows.push(row);
    }
  }
  if (config.tools.has('s3-sync2')) {
    const stateDir = freshStateDir(ctx);
    for (const rescan of [false, true]) {
      const tool = rescan ? TOOLS.rescanTick : TOOLS.timerTick;
      ctx.log(`  idle: ${tool} (in-process, ${config.idleTicks} ticks) …`);
      const { periods, ...result } = await runIdleWorker({
        dir: source.root,
        uri,
        endpoint: ctx.endpoint,
        countsUrl: ctx.countsUrl,
        stateDir,
        ticks: config.idleTicks,
        rescanEveryTick: rescan,
        motoPid: ctx.motoPid,
        resultFile: join(ctx.scratch, `idle-${rescan ? 'rescan' : 'timer'}.json`),
        nodeFlags: ctx.nodeFlags,
        extraArgs: ctx.s3sync2Args,
        env: ctx.env,
      });
      const row: Row = { caseName: 'idle', tool, ...result };
      ctx.log(`    per tick: ${row.wallSeconds.toFixed(3)} s wall, ${row.cpuSeconds.toFixed(3)} s CPU, ${row.requests} requests`);
      const cpus = periods.map((p) => p.cpuSeconds.toFixed(3)).join(' ');
      ctx.log(`    CPU s per period, warm-up first: ${cpus}; measured ${periods.at(-config.idleTicks - 1)?.endedAtUs ?? 0}…${periods.at(-1)?.endedAtUs ?? 0} µs`);
      await assertIdle(row);
      rows.push(row);
    }
  }
  return rows;
}
