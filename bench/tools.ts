/**
 * The command lines compared: `aws s3 sync`, the s3-sync2 CLI as a one-shot sync, and the
 * original tool's per-poll work. Every tool gets the same credentials and the same endpoint.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandLine } from './measure.js';
import { BENCH_CREDENTIALS, BENCH_REGION } from './s3.js';

/** The built CLI, as `npm start` runs it. */
export const S3SYNC2_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/**
 * Environment for every tool: dummy credentials, a fixed region, and an empty aws config so a
 * developer's ~/.aws (profiles, s3 transfer tuning) cannot tilt the comparison.
 */
export function toolEnv(scratch: string): NodeJS.ProcessEnv {
  const emptyConfig = join(scratch, 'aws-config');
  writeFileSync(emptyConfig, '');
  return {
    PATH: process.env.PATH,
    HOME: scratch,
    AWS_ACCESS_KEY_ID: BENCH_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: BENCH_CREDENTIALS.secretAccessKey,
    AWS_REGION: BENCH_REGION,
    AWS_DEFAULT_REGION: BENCH_REGION,
    AWS_CONFIG_FILE: emptyConfig,
    AWS_SHARED_CREDENTIALS_FILE: emptyConfig,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/**
 * The aws CLI's own executable. A pyenv shim runs a few bash scripts before python on every call;
 * an image built for the original tool has aws installed directly, so the shim's cost is left out.
 */
export const AWS_BIN: string = (() => {
  const viaPyenv = spawnSync('pyenv', ['which', 'aws'], { encoding: 'utf8' });
  return viaPyenv.status === 0 && viaPyenv.stdout.trim() !== '' ? viaPyenv.stdout.trim() : 'aws';
})();

/** `aws s3 sync <from> <to>` with the CLI's defaults, as the original tool ran it. */
export function awsSync(endpoint: string, from: string, to: string): string {
  return commandLine([AWS_BIN, '--endpoint-url', endpoint, 's3', 'sync', from, to]);
}

/** Options of a one-shot s3-sync2 run. */
export interface S3Sync2Run {
  readonly endpoint: string;
  readonly dir: string;
  readonly uri: string;
  /** Which side wins the first sync: `up` for an upload, `down` for a download. */
  readonly init: 'up' | 'down';
  /** Outside the synced folder, so the folder holds only the data. */
  readonly stateDir: string;
  /** Extra node flags (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** Extra s3-sync2 options. */
  readonly extraArgs?: readonly string[];
}

/** `s3-sync2 <dir> <uri> --poll 0`: the initial sync only, then exit (the seed's one-shot mode). */
export function s3sync2Once(run: S3Sync2Run): string {
  return commandLine([
    process.execPath,
    ...(run.nodeFlags ?? []),
    S3SYNC2_MAIN,
    run.dir,
    run.uri,
    '--poll',
    '0',
    run.init === 'up' ? '--init-sync-up' : '--init-sync-down',
    '--endpoint-url',
    run.endpoint,
    '--http-port',
    '0',
    '--state-dir',
    run.stateDir,
    // INFO for the initial sync's summary line (initialSyncSeconds); a plain sync logs nothing per file there.
    '--debug',
    'INFO',
    ...(run.extraArgs ?? []),
  ]);
}

/**
 * The initial sync's own duration from a one-shot run's log (its summary line, `tick.seconds`):
 * what a sidecar already running spends on the same sync, without starting a process.
 */
export function initialSyncSeconds(log: string): number | undefined {
  for (const line of log.split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    try {
      const tick = (JSON.parse(line) as { tick?: { trigger?: unknown; seconds?: unknown } }).tick;
      if (tick?.trigger === 'initial' && typeof tick.seconds === 'number') return tick.seconds;
    } catch {
      // a line cut by the output tail
    }
  }
  return undefined;
}

/**
 * One poll of the original tool with nothing changed: its `get_local_checksum` (count the files,
 * then `find -exec md5sum` over every file, sorted and summed) and its no-op `aws s3 sync` down.
 * The seed ran the checksum a second time after the down-sync; one pass is counted here, as in the
 * issue, so this anchor understates the original's cost.
 */
export function originalPoll(endpoint: string, dir: string, uri: string): string {
  const d = commandLine([dir]);
  return [
    `count=$(find ${d} -type f | wc -l)`,
    `[ "$count" -gt 0 ]`,
    `sum=$(find ${d} -type f -exec md5sum {} \\; | sort -k 2 | md5sum | tr -s '[:blank:]' ',' | cut -d',' -f1)`,
    `[ -n "$sum" ]`,
    awsSync(endpoint, uri, dir),
  ].join(' && ');
}
