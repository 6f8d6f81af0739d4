/**
 * `npm run bench`: s3-sync2 against `aws s3 sync` (and the original tool's poll) on one moto
 * endpoint — small and large uploads and downloads, and an idle poll over a tree already in sync —
 * printed as wall seconds, client CPU seconds and S3 requests, with the targets as
 * PASS/MISS. A miss does not fail the run (shared machines are noisy); a wrong result does.
 *
 * Environment: BENCH_QUICK=1 (10× fewer files), BENCH_SMALL_FILES, BENCH_SMALL_BYTES,
 * BENCH_LARGE_FILES, BENCH_LARGE_BYTES, BENCH_IDLE_FILES, BENCH_IDLE_BYTES, BENCH_IDLE_TICKS,
 * BENCH_SAMPLE_FILES, BENCH_CASES (comma list), BENCH_TOOLS (aws,s3-sync2,floor), BENCH_NODE_FLAGS
 * (extra node flags for s3-sync2 runs, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"),
 * BENCH_S3SYNC2_ARGS (extra s3-sync2 options for every s3-sync2 run, e.g. "--concurrency 10"),
 * BENCH_REPORT (also write the tables as Markdown to this file), BENCH_MOTO (routing-cached, the
 * default, or stock: see scripts/moto.mjs).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMoto } from '../scripts/moto.mjs';
import { downloadCase, idleCase, uploadCase, type BenchContext } from './cases.js';
import { loadBenchConfig, type BenchConfig } from './config.js';
import { generateTree, type Tree } from './data.js';
import { floorTable, judge, resultsTable, targetsTable, type Row } from './report.js';
import { RequestLog } from './request-log.js';
import { benchClient, createBucket } from './s3.js';
import { S3SYNC2_MAIN, toolEnv } from './tools.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const words = (text: string | undefined): string[] => (text ?? '').split(/\s+/).filter(Boolean);

async function run(config: BenchConfig, scratch: string): Promise<Row[]> {
  if (config.tools.has('s3-sync2') && !existsSync(S3SYNC2_MAIN)) {
    throw new Error(`find s3-sync2: ${S3SYNC2_MAIN} is missing (run "npm run build" first)`);
  }
  let moto: Awaited<ReturnType<typeof startMoto>> | undefined;
  let countsServer: Awaited<ReturnType<RequestLog['serve']>> | undefined;
  let client: ReturnType<typeof benchClient> | undefined;
  try {
    moto = await startMoto({ routingCache: config.moto === 'routing-cached', accessLog: true });
    const requests = new RequestLog(moto.accessLog!, moto.endpoint);
    countsServer = await requests.serve();
    client = benchClient(moto.endpoint);
    const bucket = `bench-${randomBytes(4).toString('hex')}`;
    await createBucket(client, bucket);
    const ctx: BenchContext = {
      config,
      client,
      bucket,
      endpoint: moto.endpoint,
      requests,
      countsUrl: countsServer.url,
      motoPid: moto.pid!,
      env: toolEnv(scratch),
      scratch,
      nodeFlags: words(process.env.BENCH_NODE_FLAGS),
      s3sync2Args: words(process.env.BENCH_S3SYNC2_ARGS),
      log,
    };
    const rows: Row[] = [];
    const trees = new Map<string, Tree>();
    const tree = async (name: string, count: number, bytes: number): Promise<Tree> => {
      let t = trees.get(name);
      if (!t) {
        log(`generating ${count} × ${bytes} B random files (${name})`);
        t = await generateTree(join(scratch, `src-${name}`), { count, bytes, filesPerFolder: config.filesPerFolder });
        trees.set(name, t);
      }
      return t;
    };
    for (const size of ['small', 'large'] as const) {
      const [count, bytes] = size === 'small' ? [config.smallFiles, config.smallBytes] : [config.largeFiles, config.largeBytes];
      const up = `up-${size}` as const;
      const down = `down-${size}` as const;
      const runs = size === 'large' ? config.largeRuns : 1;
      let prefix = '';
      if (config.cases.has(up)) {
        log(`${up}: ${count} × ${bytes} B`);
        const result = await uploadCase(ctx, up, await tree(size, count, bytes), runs);
        rows.push(...result.rows);
        prefix = result.prefix;
      }
      if (config.cases.has(down)) {
        log(`${down}: ${count} × ${bytes} B`);
        rows.push(...(await downloadCase(ctx, down, await tree(size, count, bytes), prefix, runs)));
      }
    }
    if (config.cases.has('idle')) {
      log(`idle: ${config.idleFiles} files in sync`);
      rows.push(...(await idleCase(ctx, await tree('idle', config.idleFiles, config.idleBytes))));
    }
    return rows;
  } finally {
    client?.destroy();
    await countsServer?.close();
    await moto?.stop();
  }
}

function describe(config: BenchConfig): string {
  const size = (b: number): string => (b >= 1024 * 1024 ? `${b / 1024 / 1024} MiB` : `${b / 1024} KiB`);
  return (
    `small ${config.smallFiles} × ${size(config.smallBytes)}, large ${config.largeFiles} × ${size(config.largeBytes)} ` +
    `(median of ${config.largeRuns} runs), ` +
    `idle ${config.idleFiles} × ${size(config.idleBytes)} (${config.idleTicks} ticks averaged), moto ${config.moto}` +
    (config.quick ? ' — BENCH_QUICK' : '')
  );
}

/** The floor table with its heading, when the floor was measured. */
function floorLines(rows: readonly Row[]): string[] {
  const floor = floorTable(rows);
  return floor ? ['', 'Uploads against the server floor (the same files PUT from memory, no client work):', '', floor] : [];
}

async function main(): Promise<number> {
  const config = loadBenchConfig();
  const scratch = await mkdtemp(join(tmpdir(), 's3sync2-bench-'));
  // Ctrl-C reaches moto too (same process group); only the scratch needs removing.
  process.once('SIGINT', () => {
    rmSync(scratch, { recursive: true, force: true });
    process.exit(130);
  });
  try {
    log(`s3-sync2 bench: ${describe(config)}; scratch ${scratch}`);
    const rows = await run(config, scratch);
    const verdicts = judge(rows);
    const report = [
      `Sizes: ${describe(config)}. Node ${process.version}, ${new Date().toISOString()}.`,
      '',
      resultsTable(rows),
      '',
      targetsTable(verdicts),
      '',
      `${verdicts.filter((v) => v.pass).length} of ${verdicts.length} targets met (a miss does not fail the run).`,
      ...floorLines(rows),
    ].join('\n');
    process.stdout.write(`\n${report}\n`);
    if (process.env.BENCH_REPORT) await writeFile(process.env.BENCH_REPORT, `${report}\n`);
    return 0;
  } catch (err) {
    log(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

process.exitCode = await main();
