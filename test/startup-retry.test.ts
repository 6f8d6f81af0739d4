/** retryingTransient: which start-up failures are tried again, how often, and what is said. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { AccessError, TransientError } from '../src/errors.js';
import { retryingTransient, startupPauseMs } from '../src/startup-retry.js';

/** A logger whose lines the test reads. */
function recordingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/** An attempt that throws `errors` in turn, then answers 'ok'; `calls` counts it. */
function failingThen(errors: Error[]) {
  const state = { calls: 0 };
  const attempt = async (): Promise<string> => {
    const err = errors[state.calls++];
    if (err) throw err;
    return 'ok';
  };
  return { attempt, state };
}

test('transient failures are tried again with a warning each, until the attempt succeeds', async () => {
  const { logger, lines } = recordingLogger();
  const { attempt, state } = failingThen([new TransientError('connect ECONNREFUSED'), new TransientError('503 SlowDown')]);
  assert.equal(await retryingTransient('the probe', attempt, { maxAttempts: 3, pauseMs: 1, logger }), 'ok');
  assert.equal(state.calls, 3);
  assert.deepEqual(
    lines.map((l) => l.msg),
    [
      'the probe failed (attempt 1 of 3): connect ECONNREFUSED; trying again in 0.001 s',
      'the probe failed (attempt 2 of 3): 503 SlowDown; trying again in 0.001 s',
    ],
  );
});

test('the last allowed attempt\'s transient error is thrown; 0 attempts means no limit', async () => {
  const { logger } = recordingLogger();
  const always = Array.from({ length: 6 }, (_, i) => new TransientError(`down ${i + 1}`));
  const limited = failingThen(always);
  await assert.rejects(retryingTransient('the probe', limited.attempt, { maxAttempts: 2, pauseMs: 1, logger }), /^TransientError: down 2$/);
  assert.equal(limited.state.calls, 2);
  const unlimited = failingThen(always);
  assert.equal(await retryingTransient('the probe', unlimited.attempt, { maxAttempts: 0, pauseMs: 1, logger }), 'ok');
  assert.equal(unlimited.state.calls, 7);
});

test('any other error ends it at once: access and configuration do not get better by waiting', async () => {
  const { logger, lines } = recordingLogger();
  const { attempt, state } = failingThen([new AccessError('put probe: AccessDenied')]);
  await assert.rejects(retryingTransient('the probe', attempt, { maxAttempts: 5, pauseMs: 1, logger }), AccessError);
  assert.equal(state.calls, 1);
  assert.deepEqual(lines, []);
});

test('the pause is the poll interval, at least 1 s and at most 30 s', () => {
  assert.deepEqual([0, 1, 5, 30, 3600].map(startupPauseMs), [1000, 1000, 5000, 30_000, 30_000]);
});
