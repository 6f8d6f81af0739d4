/**
 * The benchmark's results: one row per tool run, the targets as ratios anchor / s3-sync2,
 * and both rendered as Markdown tables (readable in a terminal and pasteable into the README).
 */
import type { CaseName } from './config.js';

/** What one tool did in one case. */
export interface Row {
  readonly caseName: CaseName;
  readonly tool: ToolLabel;
  readonly wallSeconds: number;
  /** Client CPU (user + system) of the tool, children included. */
  readonly cpuSeconds: number;
  /** S3 requests moto served (its access log). */
  readonly requests: number;
  readonly byKind: Readonly<Record<string, number>>;
  /** CPU moto spent serving the run (context: it shares the machine's cores). */
  readonly serverCpuSeconds: number;
  /** s3-sync2's one-shot runs: the initial sync alone, from its log (no process start). */
  readonly syncSeconds?: number;
}

/** The tools and variants in the table. */
export const TOOLS = {
  aws: 'aws s3 sync',
  s3sync2: 's3-sync2',
  awsNoop: 'aws s3 sync down (no-op)',
  original: 'original tool poll (md5 all + aws sync down)',
  timerTick: 's3-sync2 timer tick (watcher-fed)',
  rescanTick: 's3-sync2 tick with full rescan',
  floor: 'server floor: in-memory PUTs',
} as const;
/** A tool label. */
export type ToolLabel = (typeof TOOLS)[keyof typeof TOOLS];

type Metric = 'wall' | 'cpu' | 'requests';

/** A goal from the issue: anchor / subject of `metric` is at least `min`. */
interface Target {
  readonly caseName: CaseName;
  readonly metric: Metric;
  readonly anchor: ToolLabel;
  readonly subject: ToolLabel;
  readonly min: number;
}

const transferTargets = (caseName: CaseName, wall: number, cpu?: number): Target[] => [
  { caseName, metric: 'wall', anchor: TOOLS.aws, subject: TOOLS.s3sync2, min: wall },
  ...(cpu ? [{ caseName, metric: 'cpu' as const, anchor: TOOLS.aws, subject: TOOLS.s3sync2, min: cpu }] : []),
  { caseName, metric: 'requests', anchor: TOOLS.aws, subject: TOOLS.s3sync2, min: 1 },
];

const idleTargets = (subject: ToolLabel): Target[] => [
  { caseName: 'idle', metric: 'cpu', anchor: TOOLS.original, subject, min: 50 },
  { caseName: 'idle', metric: 'cpu', anchor: TOOLS.awsNoop, subject, min: 5 },
  { caseName: 'idle', metric: 'requests', anchor: TOOLS.awsNoop, subject, min: 1 },
];

/** The targets (item 7). Requests: "no more than aws s3 sync makes for the same work". */
export const TARGETS: readonly Target[] = [
  ...transferTargets('up-small', 1.3, 3),
  ...transferTargets('down-small', 1.5),
  ...transferTargets('up-large', 2),
  ...transferTargets('down-large', 2),
  ...idleTargets(TOOLS.timerTick),
  ...idleTargets(TOOLS.rescanTick),
];

/** A target checked against the rows. */
export interface Verdict {
  readonly target: Target;
  readonly anchorValue: number;
  readonly subjectValue: number;
  readonly ratio: number;
  readonly pass: boolean;
}

function value(row: Row, metric: Metric): number {
  return metric === 'wall' ? row.wallSeconds : metric === 'cpu' ? row.cpuSeconds : row.requests;
}

/** The row of `tool` in `caseName`, if it was measured. */
function findRow(rows: readonly Row[], caseName: CaseName, tool: ToolLabel): Row | undefined {
  return rows.find((r) => r.caseName === caseName && r.tool === tool);
}

/** The targets whose two rows were measured, with their ratios. */
export function judge(rows: readonly Row[]): Verdict[] {
  const out: Verdict[] = [];
  for (const target of TARGETS) {
    const anchor = findRow(rows, target.caseName, target.anchor);
    const subject = findRow(rows, target.caseName, target.subject);
    if (!anchor || !subject) continue;
    const a = value(anchor, target.metric);
    const s = value(subject, target.metric);
    const ratio = s === 0 ? Infinity : a / s;
    out.push({ target, anchorValue: a, subjectValue: s, ratio, pass: ratio >= target.min });
  }
  return out;
}

function table(header: readonly string[], body: readonly (readonly string[])[]): string {
  const right = header.map((_, i) => body.every((r) => /^[\d.,×∞ -]*$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (right[i] ? '---:' : '---'))), ...body.map(line)].join('\n');
}

const num = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '∞');
const kinds = (byKind: Readonly<Record<string, number>>): string =>
  Object.entries(byKind)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${Number.isInteger(n) ? n : num(n, 1)}`)
    .join(', ');

/** The measurements as a Markdown table. */
export function resultsTable(rows: readonly Row[]): string {
  return table(
    ['case', 'tool', 'wall s', 'of it syncing s', 'client CPU s', 'S3 requests', 'by kind', 'moto CPU s'],
    rows.map((r) => [
      r.caseName,
      r.tool,
      num(r.wallSeconds),
      r.syncSeconds === undefined ? '' : num(r.syncSeconds),
      num(r.cpuSeconds),
      Number.isInteger(r.requests) ? String(r.requests) : num(r.requests, 1),
      kinds(r.byKind),
      num(r.serverCpuSeconds),
    ]),
  );
}

/** The targets as a Markdown table with PASS/MISS. */
export function targetsTable(verdicts: readonly Verdict[]): string {
  return table(
    ['case', 'metric', 'anchor / s3-sync2', 'anchor', 's3-sync2', 'ratio', 'target', 'result'],
    verdicts.map((v) => [
      v.target.caseName,
      v.target.metric === 'requests' ? 'S3 requests' : v.target.metric === 'cpu' ? 'client CPU' : 'wall',
      `${v.target.anchor} / ${v.target.subject}`,
      num(v.anchorValue, v.target.metric === 'requests' ? 0 : 2),
      num(v.subjectValue, v.target.metric === 'requests' ? 1 : 3),
      `${num(v.ratio)}×`,
      `≥ ${v.target.min}×`,
      v.pass ? 'PASS' : 'MISS',
    ]),
  );
}

/**
 * Uploads against the server's floor (bench/floor.ts): the ratio no client could beat against this
 * moto (aws / floor), and each tool's seconds above the floor (its own cost).
 */
export function floorTable(rows: readonly Row[]): string | null {
  const body: string[][] = [];
  for (const caseName of ['up-small', 'up-large'] as const) {
    const floor = findRow(rows, caseName, TOOLS.floor);
    const aws = findRow(rows, caseName, TOOLS.aws);
    const ours = findRow(rows, caseName, TOOLS.s3sync2);
    if (!floor || !aws || !ours) continue;
    body.push([
      caseName,
      num(floor.wallSeconds),
      `${num(aws.wallSeconds / floor.wallSeconds)}×`,
      `${num(aws.wallSeconds / ours.wallSeconds)}×`,
      num(aws.wallSeconds - floor.wallSeconds),
      num(ours.wallSeconds - floor.wallSeconds),
    ]);
  }
  if (body.length === 0) return null;
  return table(['case', 'floor wall s', 'aws / floor (best possible)', 'aws / s3-sync2', 'aws above floor s', 's3-sync2 above floor s'], body);
}
