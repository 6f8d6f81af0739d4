/**
 * The benchmark's run order and its floor table: the tools take turns in a rotating order (so no
 * tool always runs right after another), and uploads are compared with the server's floor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { medianRuns } from '../../bench/cases.js';
import { floorTable, TOOLS, type Row, type ToolLabel } from '../../bench/report.js';

const row = (tool: ToolLabel, wallSeconds: number, caseName: Row['caseName'] = 'up-large'): Row => ({
  caseName,
  tool,
  wallSeconds,
  cpuSeconds: 0,
  requests: 1,
  byKind: {},
  serverCpuSeconds: 0,
});

test('bench runs: the order of the tools turns with each run, and each tool reports its median run', async () => {
  const order: string[] = [];
  const walls: Record<string, number[]> = { [TOOLS.aws]: [3, 1, 2], [TOOLS.s3sync2]: [5, 9, 7], [TOOLS.floor]: [4, 6, 8] };
  const step = (tool: ToolLabel) => async (suffix: string) => {
    order.push(`${tool}${suffix}`);
    return row(tool, walls[tool]!.shift()!);
  };
  const rows = await medianRuns(3, [step(TOOLS.aws), step(TOOLS.s3sync2), step(TOOLS.floor)]);
  assert.deepEqual(order, [
    `${TOOLS.aws}-1`, `${TOOLS.s3sync2}-1`, `${TOOLS.floor}-1`,
    `${TOOLS.s3sync2}-2`, `${TOOLS.floor}-2`, `${TOOLS.aws}-2`,
    `${TOOLS.floor}-3`, `${TOOLS.aws}-3`, `${TOOLS.s3sync2}-3`,
  ]);
  assert.deepEqual(rows.map((r) => [r.tool, r.wallSeconds]), [[TOOLS.aws, 2], [TOOLS.s3sync2, 7], [TOOLS.floor, 6]]);
});

test('bench floor table: best possible ratio and each tool above the floor; none without a floor row', () => {
  const table = floorTable([row(TOOLS.aws, 3), row(TOOLS.s3sync2, 1.5), row(TOOLS.floor, 1), row(TOOLS.aws, 9, 'down-large')]);
  assert.ok(table);
  const lines = table.split('\n');
  assert.equal(lines.length, 3, table);
  assert.equal(lines[2], '| up-large | 1.00 | 3.00× | 2.00× | 2.00 | 0.50 |');
  assert.equal(floorTable([row(TOOLS.aws, 3), row(TOOLS.s3sync2, 1.5)]), null);
});
