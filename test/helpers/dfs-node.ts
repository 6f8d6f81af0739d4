/**
 * A distributed-mode sidecar as a real process (`node dist/main.js … --dfs`) with its control API
 * on a loopback port, for the multi-node tests: its status, metrics and lock over HTTP.
 */
import { freePort } from '../../scripts/moto.mjs';
import { startCli, type CliProcess } from './cli.js';
import { parsePrometheus } from '../http/prometheus.js';
import { awsEnv } from './s3.js';
import { waitFor } from './wait.js';

/** The `sync` part of what `/status` answers, as far as these tests read it. */
export interface NodeStatus {
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  readonly recentTicks: readonly { readonly id: number; readonly trigger: string; readonly outcome: string }[];
}

/** A running `--dfs` node. */
export interface DfsNode {
  readonly name: string;
  readonly dir: string;
  readonly cli: CliProcess;
  /** `http://127.0.0.1:<port>` of its control API. */
  readonly url: string;
  status(): Promise<NodeStatus>;
  /** The sum of every series of a metric (0 when absent). */
  metric(name: string): Promise<number>;
  /** Resolves after the node has finished `count` more ticks (any trigger, any outcome). */
  ticksAfterNow(count: number, timeoutMs?: number): Promise<void>;
}

/** Where a node syncs and how. */
export interface DfsNodeOptions {
  readonly name: string;
  readonly dir: string;
  /** `s3://bucket/prefix`. */
  readonly uri: string;
  readonly endpoint: string;
  /** Flags after `--dfs` and the control API's. */
  readonly flags: readonly string[];
}

/** Starts a node and waits until its initial sync succeeded (its `/health` says 200). */
export async function startDfsNode(options: DfsNodeOptions, startTimeoutMs = 60_000): Promise<DfsNode> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const cli = startCli(
    [options.dir, options.uri, '--dfs', '--http-port', String(port), '--http-host', '127.0.0.1', ...options.flags],
    awsEnv(options.endpoint),
  );
  const node: DfsNode = {
    name: options.name,
    dir: options.dir,
    cli,
    url,
    status: async () => ((await (await fetch(`${url}/status`)).json()) as { sync: NodeStatus }).sync,
    metric: async (name) => {
      let sum = 0;
      for (const [series, value] of parsePrometheus(await (await fetch(`${url}/metrics`)).text())) {
        if (series === name || series.startsWith(`${name}{`)) sum += value;
      }
      return sum;
    },
    ticksAfterNow: async (count, timeoutMs = 60_000) => {
      const lastId = async () => (await node.status()).recentTicks.at(-1)?.id ?? 0;
      const from = await lastId();
      await waitFor(`${options.name} to finish ${count} more ticks`, async () => (await lastId()) >= from + count, {
        timeoutMs,
        intervalMs: 200,
      });
    },
  };
  await waitFor(
    `${options.name} to pass its initial sync`,
    async () => {
      if (cli.exitStatus()) throw new Error(`${options.name} exited: ${JSON.stringify(cli.exitStatus())} ${cli.stderr()}`);
      return (await fetch(`${url}/health`)).status === 200;
    },
    { timeoutMs: startTimeoutMs, intervalMs: 200 },
  );
  return node;
}
