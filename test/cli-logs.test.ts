/**
 * The built CLI's logs: every stdout line is a JSON object; a tick that changed something prints
 * exactly one summary line (counts, bytes, duration); a quiet tick prints none. Quiet ticks are
 * seen through `/status`, which lists recent ticks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../scripts/moto.mjs';
import type { TickSummary } from '../src/sync/controller.js';
import { readSyncStatus, runCli, startCli, tickLines } from './helpers/cli.js';
import { awsEnv, useS3 } from './helpers/s3.js';
import { tempDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const s3 = useS3();

const changed = (t: TickSummary) => t.uploaded + t.downloaded + t.deletedLocal + t.deletedRemote + t.conflicts > 0;

test('one JSON summary line per tick that changed something; quiet timer ticks print none', async () => {
  const dir = await tempDir('cli-logs');
  const bucket = await s3().newBucket();
  await writeFile(join(dir, 'first.txt'), 'first');
  const port = await freePort();
  const cli = startCli([dir, `s3://${bucket}/app`, '--poll', '1', '--http-port', String(port), '--http-host', '127.0.0.1'], awsEnv(s3().endpoint));
  const timerTicks = async (atLeast: number) =>
    waitFor(`${atLeast} timer ticks`, async () => {
      const status = await readSyncStatus(port);
      return status.recentTicks.filter((t) => t.trigger === 'timer').length >= atLeast ? status.recentTicks : null;
    }, { timeoutMs: 60_000, intervalMs: 250 });

  await timerTicks(3);
  await writeFile(join(dir, 'second.txt'), 'second, written while running');
  await cli.waitForLine('the upload of second.txt', (l) => tickLines([l]).some((t) => t.tick.uploaded === 1 && t.tick.trigger !== 'initial'));
  const seen = await timerTicks(6);
  cli.signal('SIGTERM');
  assert.equal((await cli.exit()).code, 0, cli.stderr());

  assert.deepEqual(cli.otherStdout, [], 'every stdout line is JSON');
  const summaries = tickLines(cli.lines);
  const ids = summaries.map((s) => s.tick.id);
  assert.equal(new Set(ids).size, ids.length, 'at most one summary line per tick');
  // Every tick /status reported: a summary line exactly when it changed something.
  for (const tick of seen.filter((t) => t.trigger !== 'initial')) {
    assert.equal(ids.includes(tick.id), changed(tick), `tick ${tick.id} (${tick.trigger}, changed: ${changed(tick)})`);
  }
  assert.ok(seen.filter((t) => t.trigger === 'timer' && !changed(t)).length >= 3, 'quiet timer ticks happened');

  const changing = summaries.filter((s) => s.tick.trigger !== 'initial' && s.tick.trigger !== 'shutdown');
  assert.equal(changing.length, 1, 'the one change while running → one line');
  const line = changing[0]!;
  assert.equal(line.level, 30);
  assert.equal(line.tick.uploaded, 1);
  assert.equal(line.tick.bytesUp, 'second, written while running'.length);
  assert.equal(typeof line.tick.seconds, 'number');
  assert.match(line.msg, /1 up \(\d+ B\), 0 down .* in \d+\.\d+ s$/);
  const initial = summaries.find((s) => s.tick.trigger === 'initial');
  assert.equal(initial?.tick.uploaded, 1, 'the initial sync is summarized too');
});

test('--debug sets what is printed: NONE prints nothing, ERROR only errors, DEBUG each transfer', async () => {
  const env = awsEnv(s3().endpoint);
  const run = async (level: string, bucket?: string) => {
    const dir = await tempDir('cli-logs');
    await writeFile(join(dir, 'a.txt'), 'a');
    const uri = `s3://${bucket ?? (await s3().newBucket())}/app`;
    return runCli([dir, uri, '--poll', '0', '--http-port', '0', '--debug', level], env);
  };

  const none = await run('NONE');
  assert.equal(none.code, 0, none.stderr);
  assert.deepEqual(none.lines, []);

  const quietOk = await run('error');
  assert.deepEqual(quietOk.lines, [], 'a good run at ERROR prints nothing');
  const failing = await run('ERROR', `s3sync2-missing-${process.pid}-logs`);
  assert.equal(failing.code, 1);
  assert.ok(failing.lines.length > 0 && failing.lines.every((l) => l.level >= 50), 'only errors');

  const debug = await run('DEBUG');
  assert.ok(debug.lines.some((l) => l.level === 20 && String(l.msg).includes('a.txt')), 'the transfer of a.txt at DEBUG');
});

test('a process warning (a library deprecation notice) becomes one JSON log line, not text on stderr', async () => {
  const dir = await tempDir('cli-logs');
  const bucket = await s3().newBucket();
  // Emitted a second in, once the sidecar runs, as the AWS SDK's NodeVersionSupportWarning is.
  const emitter = "data:text/javascript,setTimeout(()=>process.emitWarning('s3-sync2-test-warning','TestWarning'),1000).unref()";
  const cli = startCli([dir, `s3://${bucket}/app`, '--poll', '3600', '--http-port', '0'], {
    ...awsEnv(s3().endpoint),
    NODE_OPTIONS: `--import=${emitter}`,
  });
  const line = await cli.waitForLine('the warning', (l) => l.msg === 's3-sync2-test-warning');
  cli.signal('SIGTERM');
  assert.equal((await cli.exit()).code, 0, cli.stderr());
  assert.equal(line.level, 40);
  assert.deepEqual((line as unknown as { warning: unknown }).warning, { name: 'TestWarning' });
  assert.doesNotMatch(cli.stderr(), /s3-sync2-test-warning/);
  assert.deepEqual(cli.otherStdout, [], 'every stdout line is JSON');
});
