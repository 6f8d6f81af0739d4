/**
 * An in-process sidecar for engine tests: the real wiring (`createApp`) on a temp folder and a
 * bucket prefix of the moto harness, configured from argv exactly as a user would, with its log
 * lines captured. Ticks are run by the test; nothing runs on a timer.
 */
import { after } from 'node:test';
import { Writable } from 'node:stream';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pino } from 'pino';
import type { S3Client } from '@aws-sdk/client-s3';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { LocalTree, LocalTreeOptions } from '../../src/local/tree.js';
import type { Metrics } from '../../src/metrics.js';
import type { S3Bucket } from '../../src/remote/bucket.js';
import type { TickSummary } from '../../src/sync/controller.js';
import { awsEnv, type S3TestEndpoint } from './s3.js';
import { tempDir } from './tmp.js';

/** One captured log line (pino JSON). */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** pino's numeric levels, for filtering captured lines. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** Where and how to start a sidecar; everything defaults to fresh. */
export interface SidecarOptions {
  readonly bucket?: string;
  /** Key prefix without slashes; default `app`. */
  readonly prefix?: string;
  /** LocalPath; default a fresh temp folder. */
  readonly dir?: string;
  /** --state-dir; default a fresh temp folder outside LocalPath (pass the same one to "restart"). */
  readonly stateDir?: string;
  /** Extra command-line flags, as a user would type them. */
  readonly flags?: readonly string[];
  readonly makeBucket?: (client: S3Client, name: string) => S3Bucket;
  readonly makeTree?: (root: string, options: LocalTreeOptions) => LocalTree;
}

/** A running in-process sidecar and what tests need to drive and observe it. */
export interface Sidecar {
  readonly app: App;
  readonly config: Config;
  readonly metrics: Metrics;
  readonly bucket: string;
  readonly prefix: string;
  readonly dir: string;
  readonly stateDir: string;
  /** Every log line so far. */
  readonly logs: LogLine[];
  /** The object key of a relative path. */
  key(path: string): string;
  /** The absolute local path of a relative path. */
  local(path: string): string;
  /** The initial sync (as main runs it after prepare()). */
  initial(): Promise<TickSummary>;
  /** A full tick now: both directions unless a scope is given. */
  tick(scope?: 'up' | 'down' | 'both'): Promise<TickSummary>;
  /** A metric's value (0 when never set). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Log lines at `level` or above whose message contains `text`. */
  logged(text: string, level?: number): LogLine[];
  /** Stops without a final sync; idempotent (also run after the test). */
  close(): Promise<void>;
}

let credentialsSet = false;

/** Starts a sidecar (prepared, no initial sync yet) on moto; it is closed after the test. */
export async function startSidecar(s3: S3TestEndpoint, options: SidecarOptions = {}): Promise<Sidecar> {
  if (!credentialsSet) {
    // The sidecar's S3 client reads credentials from the SDK chain, as in production.
    for (const [key, value] of Object.entries(awsEnv(s3.endpoint))) process.env[key] ??= value;
    credentialsSet = true;
  }
  const bucket = options.bucket ?? (await s3.newBucket());
  const prefix = options.prefix ?? 'app';
  const dir = options.dir ?? (await tempDir('engine-local'));
  const stateDir = options.stateDir ?? (await tempDir('engine-state'));
  const argv = [
    dir,
    `s3://${bucket}/${prefix}`,
    '--endpoint-url',
    s3.endpoint,
    '--http-port',
    '0',
    '--state-dir',
    stateDir,
    '--poll',
    '3600',
    '--max-failures',
    '0',
    ...(options.flags ?? []),
  ];
  const config = loadConfig(argv, awsEnv(s3.endpoint));
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const app = await createApp(config, {
    logger,
    env: {},
    version: 'test',
    processMetrics: false,
    makeBucket: options.makeBucket,
    makeTree: options.makeTree,
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await app.shutdown({ finalSync: false });
  };
  after(close);
  await app.syncer.prepare();
  return {
    app,
    config,
    metrics: app.metrics,
    bucket,
    prefix,
    dir,
    stateDir,
    logs,
    key: (path) => `${prefix}/${path}`,
    local: (path) => join(dir, path),
    initial: () => app.syncer.initialSync(),
    tick: (scope) => app.syncer.syncNow(scope),
    metric: async (name, labels = {}) => {
      const found = (await app.metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
      if (!found) throw new Error(`no metric ${name}`);
      const value = found.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
      return value?.value ?? 0;
    },
    logged: (text, level = LEVEL.debug) => logs.filter((l) => l.level >= level && l.msg.includes(text)),
    close,
  };
}

/** Writes a file (parents created) and sets its mtime, so change detection never hinges on clock granularity. */
export async function writeAt(path: string, body: string | Buffer, mtime: Date): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, body);
  await utimes(path, mtime, mtime);
}

/** A date `seconds` from now (negative = in the past). */
export function secondsFromNow(seconds: number): Date {
  return new Date(Date.now() + seconds * 1000);
}

/** A local file's bytes and mtime (ms), or null when absent. */
export async function localFile(path: string): Promise<{ text: string; bytes: Buffer; mtimeMs: number } | null> {
  try {
    const [bytes, st] = await Promise.all([readFile(path), stat(path)]);
    return { bytes, text: bytes.toString('utf8'), mtimeMs: st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Every file under `root` (relative POSIX paths, sorted); the sidecar's `.s3-sync2*` names only when `internal`. */
export async function filesUnder(root: string, { internal = false } = {}): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'))
    .filter((p) => internal || !p.split('/').some((segment) => segment.startsWith('.s3-sync2')))
    .sort();
}

/** The counts of a tick summary that tests compare, with zeros left out. */
export function counts(summary: TickSummary): Partial<Record<keyof TickSummary, number>> {
  const out: Partial<Record<keyof TickSummary, number>> = {};
  for (const key of ['uploaded', 'downloaded', 'deletedLocal', 'deletedRemote', 'conflicts', 'skipped', 'dryrun'] as const) {
    if (summary[key] !== 0) out[key] = summary[key];
  }
  return out;
}
