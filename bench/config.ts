/**
 * Benchmark sizes and switches, from the environment, so a quick smoke run is one variable away.
 * Only the benchmark reads these; the product never does.
 */

/** What one benchmark run does. */
export interface BenchConfig {
  readonly smallFiles: number;
  readonly smallBytes: number;
  readonly largeFiles: number;
  readonly largeBytes: number;
  readonly idleFiles: number;
  readonly idleBytes: number;
  /** Idle ticks averaged per idle measurement of s3-sync2. */
  readonly idleTicks: number;
  /**
   * Runs of each large case per tool, the tools taking turns in every order (bench/cases.ts); the
   * run with the median wall time is reported. A large case takes seconds, and one run can take 40%
   * more than the next for the same work, so six: every order of three tools once.
   */
  readonly largeRuns: number;
  /** Files whose bytes are compared after each transfer (besides counts and sizes of all). */
  readonly sampleFiles: number;
  /** Which cases to run (all by default). */
  readonly cases: ReadonlySet<CaseName>;
  /** Which tools to run (all by default; `aws` also covers the original tool's poll). */
  readonly tools: ReadonlySet<ToolName>;
  /** Files per generated sub-folder, so trees look like an app's, not one huge folder. */
  readonly filesPerFolder: number;
  readonly quick: boolean;
  /** Which moto server: `routing-cached` (default) or `stock` (see scripts/moto.mjs). */
  readonly moto: MotoMode;
}

/** The moto servers the benchmark can run against. */
export const MOTO_MODES = ['routing-cached', 'stock'] as const;
/** A moto server the benchmark can run against. */
export type MotoMode = (typeof MOTO_MODES)[number];

/** The benchmark's cases, in the order they run. */
export const CASE_NAMES = ['up-small', 'up-large', 'down-small', 'down-large', 'idle'] as const;
/** A case of the benchmark. */
export type CaseName = (typeof CASE_NAMES)[number];
/** The tools compared, and the server's floor for uploads (bench/floor.ts). */
export const TOOL_NAMES = ['aws', 's3-sync2', 'floor'] as const;
/** A tool compared. */
export type ToolName = (typeof TOOL_NAMES)[number];

const MiB = 1024 * 1024;

/** Reads BENCH_* variables; BENCH_QUICK=1 makes every file count 10× smaller (sizes stay). */
export function loadBenchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const scale = (n: number): number => (quick ? Math.max(1, Math.ceil(n / 10)) : n);
  return {
    smallFiles: int(env, 'BENCH_SMALL_FILES', scale(2000)),
    smallBytes: int(env, 'BENCH_SMALL_BYTES', 4 * 1024),
    largeFiles: int(env, 'BENCH_LARGE_FILES', scale(8)),
    // Kept at 16 MiB in quick mode: the size the issue names. (s3-sync2 sends it in one PUT,
    // its largest; the aws CLI in two 8 MiB parts.)
    largeBytes: int(env, 'BENCH_LARGE_BYTES', 16 * MiB),
    idleFiles: int(env, 'BENCH_IDLE_FILES', scale(10_000)),
    idleBytes: int(env, 'BENCH_IDLE_BYTES', 4 * 1024),
    idleTicks: int(env, 'BENCH_IDLE_TICKS', quick ? 3 : 5),
    largeRuns: int(env, 'BENCH_LARGE_RUNS', 6),
    sampleFiles: int(env, 'BENCH_SAMPLE_FILES', 25),
    cases: names(env, 'BENCH_CASES', CASE_NAMES),
    tools: names(env, 'BENCH_TOOLS', TOOL_NAMES),
    filesPerFolder: 100,
    quick,
    moto: oneOf(env, 'BENCH_MOTO', MOTO_MODES),
  };
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`read ${name}: expected a positive integer, got "${raw}"`);
  return value;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly [T, ...T[]]): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return allowed[0];
  if (!(allowed as readonly string[]).includes(raw)) throw new Error(`read ${name}: unknown "${raw}" (allowed: ${allowed.join(', ')})`);
  return raw as T;
}

function names<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[]): ReadonlySet<T> {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return new Set(allowed);
  const picked = raw.split(',').map((s) => s.trim());
  for (const p of picked) {
    if (!(allowed as readonly string[]).includes(p)) {
      throw new Error(`read ${name}: unknown "${p}" (allowed: ${allowed.join(', ')})`);
    }
  }
  return new Set(picked as T[]);
}
