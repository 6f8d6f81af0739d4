/**
 * Measuring child processes: wall time with performance.now(), client CPU as the user + system
 * time bash's `times` builtin reports for the shell and every child it waited for (so pipelines
 * and processes a tool forks, such as `find -exec md5sum`, are included), and a server's CPU from
 * /proc/<pid>/stat.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** One measured command. */
export interface Measured {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

/** A measured command, with the end of what it printed (stdout and stderr). */
export interface MeasuredCommand extends Measured {
  readonly outputTail: string;
}

/** Options of `runMeasured`. */
export interface RunOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** What the command is, for error messages. */
  readonly label: string;
}

/** Quotes one word for bash. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A bash command line from words. */
export function commandLine(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

const TAIL = 4000;

/**
 * Runs `script` with bash and measures it; throws with the tail of its output when it exits
 * non-zero. The command's stdout and stderr are read (and mostly discarded), as a terminal-less
 * caller like the original tool would.
 */
export async function runMeasured(script: string, options: RunOptions): Promise<MeasuredCommand> {
  // `times` goes to fd 3 so the command's own output cannot be mistaken for it.
  const wrapped = `{ ${script}\n}; rc=$?; times >&3; exit $rc`;
  const started = performance.now();
  const child = spawn('bash', ['-c', wrapped], {
    cwd: options.cwd,
    env: { ...options.env, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-TAIL);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let timesText = '';
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => (timesText += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  const wallSeconds = (performance.now() - started) / 1000;
  if (code !== 0) {
    throw new Error(`run ${options.label}: exit code ${code}\n--- output tail ---\n${output.trim()}`);
  }
  return { wallSeconds, cpuSeconds: parseTimes(timesText, options.label), outputTail: output };
}

/** Sums the two lines of bash `times` ("0m1.234s 0m0.100s" for the shell, then its children). */
export function parseTimes(text: string, label: string): number {
  const values = [...text.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (values.length !== 4) throw new Error(`measure ${label}: cannot parse bash times output "${text.trim()}"`);
  return values.reduce((a, b) => a + b, 0);
}

/** sysconf(_SC_CLK_TCK): 100 on every Linux this runs on (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system) a running process has used so far, from /proc. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS;
}
