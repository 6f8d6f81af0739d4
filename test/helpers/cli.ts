/**
 * The built CLI as a child process, exactly as a user starts it (`node dist/main.js …`): its
 * stdout parsed as pino JSON lines, its stderr kept, waits for log lines and for the exit with
 * deadlines, signals. Every process started here is killed after its test, even when it fails.
 */
import { after } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SyncStatus, TickSummary } from '../../src/sync/controller.js';

/** The repository root: the CLI runs from there, as `npm start` does. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = 'dist/main.js';

/** One log line of the sidecar (pino JSON on stdout). */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** pino's numeric levels. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

/** How a process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running (or finished) CLI process. */
export interface CliProcess {
  readonly pid: number;
  /** Every JSON log line printed on stdout so far. */
  readonly lines: readonly LogLine[];
  /** stdout lines that were not JSON (there should be none while running). */
  readonly otherStdout: readonly string[];
  /** All of stderr so far. */
  stderr(): string;
  /** Null while running. */
  exitStatus(): Exit | null;
  /** Resolves with the first line (past or future) that matches; throws at the deadline or on exit. */
  waitForLine(what: string, match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends a signal. */
  signal(name: NodeJS.Signals): void;
  /** Resolves when the process has exited; throws at the deadline (the process is left to `after`). */
  exit(timeoutMs?: number): Promise<Exit>;
}

/** Generous default deadline: the test machine is loaded and shared. */
export const DEFAULT_TIMEOUT_MS = 60_000;

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Throws a clear error when the CLI was not built (run-tests does not build; `npm test` does). */
export function assertBuilt(): void {
  if (!existsSync(new URL(MAIN, new URL('../../', import.meta.url)))) {
    throw new Error(`${MAIN} is missing: run \`npm run build\` first (\`npm test\` builds before testing)`);
  }
}

/**
 * The environment of a child: only what a user's shell would pass (PATH, HOME) plus `env`, so
 * the test runner's own variables (S3_TEST_ENDPOINT, POLL_INTERVAL from a developer shell …)
 * cannot leak into the configuration under test. AWS config files are pointed away.
 */
export function childEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    AWS_CONFIG_FILE: '/nonexistent/s3-sync2-test/config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/s3-sync2-test/credentials',
    ...env,
  };
}

/** Starts `node dist/main.js ...args` with `env` (see childEnv); killed after the calling test. */
export function startCli(args: readonly string[], env: Readonly<Record<string, string>>): CliProcess {
  assertBuilt();
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  after(() => kill(child));

  const lines: LogLine[] = [];
  const otherStdout: string[] = [];
  let stderr = '';
  let partial = '';
  let status: Exit | null = null;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };

  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) {
      if (!text.trim()) continue;
      const line = parseLine(text);
      if (line) lines.push(line);
      else otherStdout.push(text);
    }
    notify();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      status = { code, signal };
      notify();
      resolve(status);
    }),
  );

  /** What the process said lately, for failure messages. */
  const tail = () =>
    `\n--- last stdout lines:\n${lines
      .slice(-15)
      .map((l) => JSON.stringify(l))
      .join('\n')}\n--- stderr:\n${stderr.slice(-2000)}`;

  const waitForLine = (what: string, match: (line: LogLine) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS) =>
    new Promise<LogLine>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = () => {
        const found = lines.find(match);
        if (found) return finish(() => resolve(found));
        if (status) finish(() => reject(new Error(`process exited (${JSON.stringify(status)}) before logging ${what}${tail()}`)));
      };
      const finish = (then: () => void) => {
        listeners.delete(check);
        clearTimeout(timer);
        then();
      };
      timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${tail()}`))), timeoutMs);
      listeners.add(check);
      check();
    });

  return {
    pid: child.pid ?? -1,
    lines,
    otherStdout,
    stderr: () => stderr,
    exitStatus: () => status,
    waitForLine,
    signal: (name) => {
      child.kill(name);
    },
    exit: async (timeoutMs = DEFAULT_TIMEOUT_MS) => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`process did not exit within ${timeoutMs} ms${tail()}`)), timeoutMs);
      });
      try {
        return await Promise.race([closed, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** What a finished short run printed. */
export interface CliResult extends Exit {
  readonly lines: readonly LogLine[];
  /** stdout that was not a JSON log line (e.g. --help). */
  readonly text: string;
  readonly stderr: string;
}

/** Runs the CLI to its end (e.g. bad options, --help, --poll 0) within a deadline. */
export async function runCli(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<CliResult> {
  const cli = startCli(args, env);
  const exit = await cli.exit(timeoutMs);
  return { ...exit, lines: cli.lines, text: cli.otherStdout.join('\n'), stderr: cli.stderr() };
}

/** Log lines that are tick summaries (they carry a `tick` object). */
export function tickLines(lines: readonly LogLine[]): TickLine[] {
  return lines.filter((l): l is TickLine => typeof l.tick === 'object' && l.tick !== null);
}

/** A tick summary line. */
export interface TickLine extends LogLine {
  readonly tick: TickSummary;
}

function parseLine(text: string): LogLine | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && 'level' in value && 'msg' in value) return value as LogLine;
  } catch {
    // not JSON
  }
  return null;
}

/** SIGKILLs a child still running and waits for it to be gone. */
async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

/** The loop's state from a running CLI's `GET /status` (needs `--http-port`). */
export async function readSyncStatus(port: number): Promise<SyncStatus> {
  const res = await fetch(`http://127.0.0.1:${port}/status`);
  if (res.status !== 200) throw new Error(`GET /status: HTTP ${res.status}`);
  return ((await res.json()) as { sync: SyncStatus }).sync;
}
