/**
 * The lease lock across real processes on moto: mutual exclusion under contention, and the
 * takeover of a holder killed with SIGKILL by exactly one waiter, after the lease.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { lockKey } from '../../src/lock/lock-object.js';
import { awsEnv, useS3 } from '../helpers/s3.js';
import { waitFor } from '../helpers/wait.js';

// Threaded moto can let two concurrent conditional creates both succeed; S3 cannot. Race tests
// need the store's atomicity, so they run on a moto that serves one request at a time.
const s3 = useS3({ serial: true });
const KEY = lockKey('shared');
const FIXTURE = fileURLToPath(new URL('../fixtures/lock-contender.ts', import.meta.url));

/** One JSON line printed by the fixture. */
interface LockEvent {
  readonly ev: 'log' | 'enter' | 'exit' | 'lost' | 'done';
  readonly msg?: string;
  readonly level?: string;
  readonly how?: string;
  readonly generation?: number;
  readonly hr?: string;
  readonly wall?: number;
  readonly held?: boolean;
}

interface Contender {
  readonly owner: string;
  readonly events: LockEvent[];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stderr(): string;
  logged(msg: string): LockEvent[];
}

const started: ChildProcess[] = [];
after(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function contender(bucket: string, owner: string, args: Record<string, string | number>): Contender {
  const argv = [`--bucket=${bucket}`, `--key=${KEY}`, `--owner=${owner}`];
  for (const [name, value] of Object.entries(args)) argv.push(`--${name}=${value}`);
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...argv], {
    env: { ...process.env, ...awsEnv(s3().endpoint), NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const events: LockEvent[] = [];
  let pending = '';
  let errors = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as LockEvent);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    owner,
    events,
    child,
    exited,
    stderr: () => errors,
    logged: (msg) => events.filter((e) => e.ev === 'log' && e.msg === msg),
  };
}

test('mutual exclusion: 6 processes take the lock 20 times each and their critical sections never overlap', { timeout: 120_000 }, async () => {
  const bucket = await s3().newBucket();
  const nodes = Array.from({ length: 6 }, (_, i) =>
    contender(bucket, `node-${i}:${1000 + i}`, { mode: 'cycle', iterations: 20, lease: 3, wait: 90, 'hold-ms': 10 }),
  );
  const codes = await Promise.all(nodes.map((n) => n.exited));
  for (const [i, n] of nodes.entries()) {
    assert.equal(codes[i], 0, `${n.owner} exited ${codes[i]}: ${n.stderr()}`);
    assert.ok(n.events.some((e) => e.ev === 'done'), `${n.owner} finished`);
    assert.deepEqual(n.logged('lock lost: remote writes stop now'), [], `${n.owner} never lost the lock`);
  }

  const sections = nodes.flatMap((n) => {
    const enters = n.events.filter((e) => e.ev === 'enter');
    const exits = n.events.filter((e) => e.ev === 'exit');
    assert.equal(enters.length, 20, `${n.owner} entered 20 times`);
    assert.equal(exits.length, 20, `${n.owner} left 20 times`);
    assert.ok(exits.every((e) => e.held), `${n.owner} held the lock through every section`);
    return enters.map((e, i) => ({ owner: n.owner, enter: BigInt(e.hr!), exit: BigInt(exits[i]!.hr!) }));
  });
  assert.equal(sections.length, 120);
  sections.sort((a, b) => (a.enter < b.enter ? -1 : a.enter > b.enter ? 1 : 0));
  for (let i = 1; i < sections.length; i++) {
    const [prev, next] = [sections[i - 1]!, sections[i]!];
    assert.ok(
      next.enter > prev.exit,
      `section ${i}: ${next.owner} entered ${prev.exit - next.enter} ns before ${prev.owner} left`,
    );
  }
  const acquisitions = nodes.flatMap((n) => n.logged('lock acquired'));
  assert.equal(acquisitions.length, 120, 'one acquisition per section (no sharing across processes)');
  assert.ok(acquisitions.every((a) => a.how === 'fresh'), 'nobody died, so nobody was taken over');
});

test('stale takeover: a holder killed with SIGKILL is taken over by exactly one of 3 waiters, after the lease', { timeout: 90_000 }, async () => {
  const bucket = await s3().newBucket();
  const lease = 3;
  const holder = contender(bucket, 'holder:1', { mode: 'hold', lease });
  await waitFor('the holder to take the lock', () => holder.events.some((e) => e.ev === 'enter'), { timeoutMs: 30_000 });
  const holderGeneration = holder.logged('lock acquired')[0]!.generation!;

  const waiters = [1, 2, 3].map((i) => contender(bucket, `waiter-${i}:${2000 + i}`, { mode: 'hold', lease, wait: 60 }));
  await waitFor(
    'all waiters to see the holder',
    () => waiters.every((w) => w.logged('lock is held by another node; waiting').length > 0),
    { timeoutMs: 30_000 },
  );
  await waitFor('a renewal by the holder', async () => Number(JSON.parse(await s3().getText(bucket, KEY)).renewals) >= 1);

  holder.child.kill('SIGKILL');
  await holder.exited;
  const dead = JSON.parse(await s3().getText(bucket, KEY)) as { owner: string; renewedAt: string };
  assert.equal(dead.owner, 'holder:1');
  const lastWrite = Date.parse(dead.renewedAt);

  const entered = () => waiters.filter((w) => w.events.some((e) => e.ev === 'enter'));
  await waitFor('a waiter to take over', () => entered().length > 0, { timeoutMs: 30_000 });
  // Give the others time to try: the winner renews three times (a whole lease) while they poll.
  await waitFor('the winner to renew for a whole lease', async () => {
    const body = JSON.parse(await s3().getText(bucket, KEY)) as { renewals?: number };
    return (body.renewals ?? 0) >= 3;
  });
  assert.equal(entered().length, 1, `exactly one waiter holds the lock: ${entered().map((w) => w.owner).join(', ')}`);

  const winner = entered()[0]!;
  const takeovers = waiters.flatMap((w) => w.logged('lock acquired'));
  assert.equal(takeovers.length, 1);
  assert.equal(takeovers[0]!.how, 'takeover');
  assert.equal(takeovers[0]!.level, 'info', 'a takeover is worth an INFO line (a lock taken at once is DEBUG)');
  assert.equal(takeovers[0]!.generation, holderGeneration + 1);
  const enteredAt = winner.events.find((e) => e.ev === 'enter')!.wall!;
  assert.ok(
    enteredAt - lastWrite >= lease * 1000,
    `taken over ${enteredAt - lastWrite} ms after the dead holder's last write; the lease is ${lease} s`,
  );
  const current = JSON.parse(await s3().getText(bucket, KEY)) as { owner: string; generation: number };
  assert.equal(current.owner, winner.owner);
  assert.equal(current.generation, holderGeneration + 1);
});
