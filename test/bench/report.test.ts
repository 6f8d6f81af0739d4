/**
 * The benchmark's run order and its floor table: the tools take turns in every order (so no tool
 * always runs right after another), and uploads are compared with the server's floor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { medianRuns } from '../../bench/cases.js';
import { floorTable, TOOLS, type Row, type ToolLabel } from '../../bench/report.js';
import { initialSyncSeconds } from '../../bench/tools.js';

const row = (tool: ToolLabel, wallSeconds: number, caseName: Row['caseName'] = 'up-large'): Row => ({
  caseName,
  tool,
  wallSeconds,
  cpuSeconds: 0,
  requests: 1,
  byKind: {},
  serverCpuSeconds: 0,
});

test('bench runs: every order of the tools once, then again; each tool reports its median run', async () => {
  const runs: string[][] = [];
  const walls: Record<string, number[]> = { A: [3, 1, 2, 6, 5, 4, 9], B: [5, 9, 7, 1, 2, 3, 8], C: [4, 6, 8, 7, 5, 9, 1] };
  const step = (tool: string) => async (suffix: string) => {
    const run = Number(suffix.slice(1));
    (runs[run - 1] ??= []).push(tool);
    return row(tool as ToolLabel, walls[tool]!.shift()!);
  };
  const rows = await medianRuns(7, [step('A'), step('B'), step('C')]);
  assert.deepEqual(runs.map((order) => order.join('')), ['ABC', 'ACB', 'BAC', 'BCA', 'CAB', 'CBA', 'ABC']);
  // Of 7 runs, the 4th fastest.
  assert.deepEqual(rows.map((r) => [r.tool, r.wallSeconds]), [['A', 4], ['B', 5], ['C', 6]]);
});

test('bench floor table: best possible ratio and each tool above the floor; none without a floor row', () => {
  const table = floorTable([row(TOOLS.aws, 3), row(TOOLS.s3sync2, 1.5), row(TOOLS.floor, 1), row(TOOLS.aws, 9, 'down-large')]);
  assert.ok(table);
  const lines = table.split('\n');
  assert.equal(lines.length, 3, table);
  assert.equal(lines[2], '| up-large | 1.00 | 3.00× | 2.00× | 2.00 | 0.50 |');
  assert.equal(floorTable([row(TOOLS.aws, 3), row(TOOLS.s3sync2, 1.5)]), null);
});

test('bench: the initial sync time is read from a one-shot run\'s log, not from other ticks or cut lines', () => {
  const log = [
    '{"level":30,"msg":"s3-sync2 0.1.0: /d <-> s3://b/p"}',
    '{"level":30,"tick":{"id":1,"trigger":"initial","seconds":1.25},"msg":"sync up (initial): 8 up"}',
    '{"level":30,"tick":{"id":2,"trigger":"shutdown","seconds":0.01},"msg":"sync up (shutdown)"}',
    '{"level":30,"why":"--poll 0","msg":"shutting down"}',
    '{"level":30,"tick":{"trig',
  ].join('\n');
  assert.equal(initialSyncSeconds(log), 1.25);
  assert.equal(initialSyncSeconds('s3-sync2: unexpected error'), undefined);
});
