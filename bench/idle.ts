/**
 * Runs idle-worker.ts (s3-sync2's engine, in its own process) and reads back its per-tick figures.
 * A process of its own keeps the benchmark's heap, timers and GC out of the CPU measured.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** Options of one idle measurement. */
export interface IdleWorkerOptions {
  readonly dir: string;
  readonly uri: string;
  /** Where the engine sends S3 requests (moto). */
  readonly endpoint: string;
  /** The benchmark's request counts (`RequestLog.serve`), read at the end of every tick. */
  readonly countsUrl: string;
  /** Shared by consecutive measurements, so the second resumes from the first's baseline. */
  readonly stateDir: string;
  /** Ticks measured (after warm-up). */
  readonly ticks: number;
  /** Make every tick's local snapshot a full rescan (the safety-net rescan being due). */
  readonly rescanEveryTick: boolean;
  readonly motoPid: number;
  readonly resultFile: string;
  readonly nodeFlags: readonly string[];
  /** Extra s3-sync2 options, after the benchmark's own. */
  readonly extraArgs: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

/** One poll period (a tick and the wait after it) as the worker measured it. */
export interface IdlePeriod {
  /** When the period ended, in µs of the monotonic clock CPU profiles use (to cut a --cpu-prof to it). */
  readonly endedAtUs: number;
  readonly tickSeconds: number;
  readonly cpuSeconds: number;
  readonly requests: number;
  readonly serverCpuSeconds: number;
}

/** Per-tick averages over the measured periods, and every period (warm-up included). */
export interface IdleResult {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly requests: number;
  readonly byKind: Record<string, number>;
  readonly serverCpuSeconds: number;
  readonly periods: readonly IdlePeriod[];
}

const WORKER = fileURLToPath(new URL('./idle-worker.ts', import.meta.url));

/** Spawns the worker, waits for it, and returns its result; throws with its output on failure. */
export async function runIdleWorker(options: IdleWorkerOptions): Promise<IdleResult> {
  const { env, nodeFlags, ...forWorker } = options;
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeFlags, WORKER, JSON.stringify(forWorker)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`idle worker (${options.rescanEveryTick ? 'rescan' : 'timer'}): exit code ${code}\n${output.trim()}`);
  return JSON.parse(await readFile(options.resultFile, 'utf8')) as IdleResult;
}
