/**
 * This node's id for the lock: the ECS task ARN when running on ECS, else the machine id, else the
 * hostname (`--dfs-uid-hostname` forces the hostname, as in the original tool), always followed by
 * `:<pid>` so two processes on one machine are two owners.
 */
import { readFile as fsReadFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';

/** Where the id came from (for the start-up log). */
export type NodeIdSource = 'ecs-task' | 'machine-id' | 'hostname';

/** A resolved node id and the host name recorded beside it in the lock body. */
export interface NodeId {
  readonly id: string;
  readonly host: string;
  readonly source: NodeIdSource;
}

/** What `resolveNodeId` reads; everything but `env` and `uidHostname` defaults to the real thing. */
export interface NodeIdDeps {
  /** The process environment (passed in: library code does not read `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** --dfs-uid-hostname: use the hostname even where a better id exists. */
  readonly uidHostname: boolean;
  readonly readFile?: (path: string) => Promise<string>;
  readonly hostname?: () => string;
  readonly fetch?: typeof fetch;
  readonly pid?: number;
  /** Timeout of the ECS metadata request (ms). */
  readonly metadataTimeoutMs?: number;
}

const MACHINE_ID_PATH = '/etc/machine-id';

/** Resolves this node's lock owner id; never fails (the hostname is the last resort). */
export async function resolveNodeId(deps: NodeIdDeps): Promise<NodeId> {
  const host = (deps.hostname ?? osHostname)();
  const pid = deps.pid ?? process.pid;
  const make = (base: string, source: NodeIdSource): NodeId => ({ id: `${base}:${pid}`, host, source });
  if (deps.uidHostname) return make(host, 'hostname');

  const metadataUri = deps.env.ECS_CONTAINER_METADATA_URI_V4;
  if (metadataUri) {
    const arn = await ecsTaskArn(metadataUri, deps.fetch ?? fetch, deps.metadataTimeoutMs ?? 1_000);
    if (arn) return make(arn, 'ecs-task');
  }
  const machineId = await (deps.readFile ?? readUtf8)(MACHINE_ID_PATH).then(
    (text) => text.trim(),
    () => '',
  );
  if (machineId) return make(machineId, 'machine-id');
  return make(host, 'hostname');
}

/** The task ARN from the ECS task metadata endpoint v4, or null when it does not answer in time. */
async function ecsTaskArn(metadataUri: string, fetchFn: typeof fetch, timeoutMs: number): Promise<string | null> {
  try {
    const response = await fetchFn(`${metadataUri.replace(/\/+$/, '')}/task`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) return null;
    const task = (await response.json()) as { TaskARN?: unknown };
    return typeof task.TaskARN === 'string' && task.TaskARN ? task.TaskARN : null;
  } catch {
    return null;
  }
}

function readUtf8(path: string): Promise<string> {
  return fsReadFile(path, 'utf8');
}
