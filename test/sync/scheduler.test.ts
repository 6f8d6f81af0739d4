import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TickScheduler, widenScope, type TickRequest } from '../../src/sync/scheduler.js';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

test('requests during a running tick coalesce into one queued tick; everyone gets a later tick', async () => {
  const runs: TickRequest<string>[] = [];
  const first = gate();
  const scheduler = new TickScheduler<string, number>(async (request) => {
    runs.push(request);
    if (runs.length === 1) await first.opened;
    return runs.length;
  });
  const running = scheduler.request({ scope: 'up', trigger: 'timer', fullScan: false });
  const queued = Array.from({ length: 10 }, (_, i) =>
    scheduler.request({ scope: i % 2 ? 'up' : 'down', trigger: 'http', fullScan: i === 3 }),
  );
  first.open();
  assert.equal(await running, 1);
  assert.deepEqual(await Promise.all(queued), Array(10).fill(2));
  assert.equal(runs.length, 2);
  assert.deepEqual(runs[1], { scope: 'both', trigger: 'http', fullScan: true });
});

test('a failing tick rejects its waiters and the next tick still runs', async () => {
  let n = 0;
  const scheduler = new TickScheduler<string, number>(async () => {
    n++;
    if (n === 1) throw new Error('boom');
    return n;
  });
  await assert.rejects(scheduler.request({ scope: 'up', trigger: 't', fullScan: false }), /boom/);
  assert.equal(await scheduler.request({ scope: 'up', trigger: 't', fullScan: false }), 2);
});

test('drain waits for running and queued ticks, then refuses new requests', async () => {
  const g = gate();
  const done: number[] = [];
  const scheduler = new TickScheduler<string, void>(async () => {
    await g.opened;
    done.push(done.length);
  });
  void scheduler.request({ scope: 'up', trigger: 't', fullScan: false });
  void scheduler.request({ scope: 'up', trigger: 't', fullScan: false });
  const drained = scheduler.drain();
  g.open();
  await drained;
  assert.equal(done.length, 2);
  await assert.rejects(scheduler.request({ scope: 'up', trigger: 't', fullScan: false }), /closed/);
});

test('widenScope', () => {
  assert.equal(widenScope('up', 'up'), 'up');
  assert.equal(widenScope('up', 'down'), 'both');
  assert.equal(widenScope('both', 'down'), 'both');
});
