import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteBudget } from '../../src/remote/byte-budget.js';

/** Lets every pending promise callback run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('ByteBudget: takes what is free, makes later callers wait in arrival order, gives back once', async () => {
  const budget = new ByteBudget(10);
  const releaseA = await budget.take(6);
  const granted: string[] = [];
  const big = budget.take(8).then((release) => (granted.push('big'), release));
  const small = budget.take(2).then((release) => (granted.push('small'), release));
  await settle();
  // 4 bytes are free, enough for `small`, but `big` came first: it is not starved.
  assert.deepEqual(granted, []);
  assert.equal(budget.free, 4);

  releaseA();
  releaseA(); // a second call gives nothing back twice
  const releaseBig = await big;
  const releaseSmall = await small;
  assert.deepEqual(granted, ['big', 'small']);
  assert.equal(budget.free, 0);
  releaseBig();
  releaseSmall();
  assert.equal(budget.free, 10);
});

test('ByteBudget: a request above the capacity takes all of it instead of waiting forever', async () => {
  const budget = new ByteBudget(10);
  const release = await budget.take(25);
  assert.equal(budget.free, 0);
  release();
  assert.equal(budget.free, 10);
  assert.throws(() => new ByteBudget(0), /capacity must be positive/);
});

test('ByteBudget: an abort while waiting rejects with its reason, takes nothing and lets the next in line through', async () => {
  const budget = new ByteBudget(10);
  const releaseFirst = await budget.take(8);
  const controller = new AbortController();
  const abandoned = budget.take(5, controller.signal);
  const next = budget.take(2);
  await settle();
  const reason = new Error('lock lost');
  controller.abort(reason);
  await assert.rejects(abandoned, (err) => err === reason);
  // `next` was behind the abandoned 5 bytes; 2 bytes were free all along.
  const releaseNext = await next;
  assert.equal(budget.free, 0);
  releaseFirst();
  releaseNext();
  assert.equal(budget.free, 10);
  await assert.rejects(budget.take(1, AbortSignal.abort(reason)), (err) => err === reason);
  await assert.rejects(budget.take(Number.NaN), RangeError);
  assert.equal(budget.free, 10);
});
