/**
 * Starts the counting proxy (proxy-server.ts) as a child process in front of an S3 endpoint, so
 * every tool can be pointed at it and its requests counted without charging the proxy's CPU to
 * the tool or to the benchmark process.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Request totals since the proxy started, by kind (LIST, GET, HEAD, PUT, POST, DELETE). */
export interface RequestCounts {
  total: number;
  byKind: Record<string, number>;
}

/** A running counting proxy. */
export interface CountingProxy {
  /** The URL to give tools as `--endpoint-url`. */
  readonly endpoint: string;
  readonly pid: number;
  /** Totals so far; subtract two readings with `diffCounts` to count one tool run. */
  counts(): Promise<RequestCounts>;
  stop(): Promise<void>;
}

const SERVER = fileURLToPath(new URL('./proxy-server.ts', import.meta.url));

/** Spawns the proxy and resolves once it listens. */
export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, upstream], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      lines.close();
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch (err) {
        reject(new Error(`start bench proxy: unexpected output "${line}"`, { cause: err }));
      }
    });
    child.once('exit', (code) => reject(new Error(`start bench proxy: exited with code ${code} before listening`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    pid: child.pid!,
    async counts() {
      const res = await fetch(`${endpoint}/__bench/counts`);
      if (!res.ok) throw new Error(`read proxy counts: HTTP ${res.status}`);
      return (await res.json()) as RequestCounts;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The requests made between two readings. */
export function diffCounts(before: RequestCounts, after: RequestCounts): RequestCounts {
  const byKind: Record<string, number> = {};
  for (const [kind, n] of Object.entries(after.byKind)) {
    const d = n - (before.byKind[kind] ?? 0);
    if (d > 0) byKind[kind] = d;
  }
  return { total: after.total - before.total, byKind };
}
