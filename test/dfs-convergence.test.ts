/**
 * Several nodes on one prefix (issue 4, item 5): three `--dfs` sidecar processes on three folders
 * write and delete their own files and shared ones for half a minute, then go quiet. All three
 * folders and the bucket must end identical, with no update lost.
 *
 * Policy: --conflict keep-both. It allows the strongest check: with `newer` a concurrent edit may
 * silently lose (only "the result is one of the versions" could be asserted); with keep-both every
 * version written must survive — as the final content, or as a `.conflict-` copy on every side —
 * unless a node replaced or deleted it knowingly (the workload only touches a shared file again
 * once every side agrees on it, so what it replaces is known). A few chaos files are written and
 * deleted by any node at any time: for them only convergence and "nothing but written versions"
 * are defined. See test/helpers/dfs-workload.ts.
 *
 * The moto here serves one request at a time: its threaded server does not make conditional
 * creates atomic, and both the lock and the engine's If-Match/If-None-Match writes rely on that.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TIMEOUT_MS, tickLines } from './helpers/cli.js';
import { startDfsNode, type DfsNode } from './helpers/dfs-node.js';
import { Workload, type WorkloadNode } from './helpers/dfs-workload.js';
import { useS3 } from './helpers/s3.js';
import { tempDir } from './helpers/tmp.js';
import { asText, bucketFiles, localFiles, sameFiles, type Files } from './helpers/trees.js';
import { waitFor } from './helpers/wait.js';
import { lockKey } from '../src/lock/lock-object.js';

const s3 = useS3({ serial: true });

const PREFIX = 'team';
/** Seconds the workload runs (DFS_WORKLOAD_SECONDS to soak longer). */
const WORKLOAD_SECONDS = Number(process.env.DFS_WORKLOAD_SECONDS ?? 30);
const SEED = Number(process.env.DFS_SEED ?? Date.now() % 1_000_000);

/** On the prefix before any node starts; nobody changes them. */
const SEEDED = { 'seed/readme.txt': 'from before', 'seed/deep/data.json': '{"v":1}' };

const FLAGS = [
  '--poll', '1',
  '--delete',
  '--conflict', 'keep-both',
  '--dfs-lock-timeout', '10',
  // The workload may delete most of a node's few files in one tick; the guard has its own tests.
  '--max-delete', '100',
  // A failed tick is asserted on below, with its message, rather than ending the process.
  '--max-failures', '0',
];

async function remoteText(bucket: string, path: string): Promise<string | null> {
  try {
    return await s3().getText(bucket, `${PREFIX}/${path}`);
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey') return null;
    throw err;
  }
}

/** All folders and the bucket, when they hold the same files with the same bytes; else null. */
async function identical(bucket: string, nodes: readonly DfsNode[]): Promise<Files | null> {
  const remote = await bucketFiles(s3(), bucket, PREFIX);
  for (const node of nodes) if (!sameFiles(await localFiles(node.dir), remote)) return null;
  return remote;
}

/** The paths on which the sides differ, with what each side holds, for a failure message. */
async function describeSides(bucket: string, nodes: readonly DfsNode[]): Promise<string> {
  const sides: [string, Files][] = [['bucket', await bucketFiles(s3(), bucket, PREFIX)]];
  for (const node of nodes) sides.push([node.name, await localFiles(node.dir)]);
  const all = new Set(sides.flatMap(([, files]) => [...files.keys()]));
  const lines = [...all].sort().flatMap((path) => {
    const seen = sides.map(([name, files]) => `${name}=${files.get(path)?.toString('utf8').slice(0, 24) ?? '-'}`);
    return new Set(sides.map(([, files]) => files.get(path)?.toString('utf8') ?? null)).size > 1 ? [`${path}: ${seen.join(' ')}`] : [];
  });
  return lines.join('\n');
}

test(`3 nodes, one prefix, ${WORKLOAD_SECONDS} s of writes and deletes (own and shared files), then quiet: identical everywhere, no update lost`, { timeout: 240_000 }, async () => {
  const bucket = await s3().newBucket();
  for (const [path, body] of Object.entries(SEEDED)) await s3().putText(bucket, `${PREFIX}/${path}`, body);

  const folders: WorkloadNode[] = [];
  for (const name of ['n0', 'n1', 'n2']) folders.push({ name, dir: await tempDir(`dfs-${name}`), staging: await tempDir(`dfs-${name}-staging`) });
  // Started one after another: each begins from an empty folder against the populated prefix.
  const nodes: DfsNode[] = [];
  for (const f of folders) {
    nodes.push(await startDfsNode({ name: f.name, dir: f.dir, uri: `s3://${bucket}/${PREFIX}`, endpoint: s3().endpoint, flags: FLAGS }));
  }
  for (const node of nodes) assert.deepEqual(asText(await localFiles(node.dir)), SEEDED, `${node.name} started from the prefix`);

  const workload = new Workload({ nodes: folders, seed: SEED, remote: (path) => remoteText(bucket, path) });
  await workload.run(WORKLOAD_SECONDS * 1000);
  const quietAt = Date.now();
  const context = () => `seed ${SEED} (DFS_SEED=${SEED} replays the workload); ${JSON.stringify(workload.summary())}`;

  let converged: Files;
  try {
    converged = await waitFor('the 3 folders and the bucket to become identical', () => identical(bucket, nodes), {
      timeoutMs: 90_000,
      intervalMs: 500,
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}; ${context()}\ndifferences:\n${await describeSides(bucket, nodes)}`);
  }
  const convergedAfter = ((Date.now() - quietAt) / 1000).toFixed(1);
  // Quiet means quiet: two more ticks on every node change nothing (no flapping, no resurrection).
  await Promise.all(nodes.map((n) => n.ticksAfterNow(2)));
  const later = await identical(bucket, nodes);
  assert.ok(later && sameFiles(later, converged), `the converged state held for two more ticks; ${context()}`);

  const problems = workload.verify(converged, SEEDED);
  assert.deepEqual(problems, [], `${context()}\nledger:\n${workload.ledger.map((e) => JSON.stringify(e)).join('\n')}`);

  let conflicts = 0;
  for (const node of nodes) conflicts += await node.metric('s3sync2_conflicts_total');
  assert.ok(conflicts >= workload.minConflicts, `conflicts counted: ${conflicts}, at least ${workload.minConflicts} forced; ${context()}`);

  // Races between nodes are re-planned inside the tick; none may cost a failed tick.
  const failed = nodes.flatMap((n) => tickLines(n.cli.lines).filter((t) => t.tick.outcome === 'failure').map((t) => `${n.name}: ${t.msg}`));
  assert.deepEqual(failed, [], `every tick succeeded; ${context()}`);
  for (const node of nodes) {
    assert.equal(node.cli.exitStatus(), null, `${node.name} still running`);
    assert.deepEqual(
      node.cli.lines.filter((l) => l.msg === 'lock lost: remote writes stop now'),
      [],
      `${node.name} never lost the lock`,
    );
    node.cli.signal('SIGTERM');
  }
  for (const node of nodes) assert.deepEqual(await node.cli.exit(DEFAULT_TIMEOUT_MS), { code: 0, signal: null }, node.cli.stderr());
  assert.equal(await s3().head(bucket, lockKey(PREFIX)), null, 'the last node out released the lock');
  console.log(`dfs convergence: ${context()}; converged ${convergedAfter} s after the workload; conflicts counted ${conflicts}`);
});
