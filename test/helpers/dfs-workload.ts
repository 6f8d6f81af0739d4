/**
 * A scripted workload for several sidecars on one prefix, and the ledger that judges the result.
 *
 * Own files: each node writes, rewrites and deletes files nobody else touches, at any time, so
 * their last content is exact. Shared files: written by several nodes in one synchronous burst
 * (concurrent edits: no node can have seen another's version, which takes at least a tick to
 * travel), or deleted by one node while another writes. A shared file is touched again only once
 * every folder and the bucket agree on it, so every version a later operation replaces was known
 * to the node replacing it — and every other version must survive.
 *
 * Chaos files: any node writes or deletes them at any time, whatever the others hold. Which
 * version survives is not defined there; the folders must still converge, and hold only
 * versions that were written.
 *
 * The app writes as careful apps do: a temp file outside the synced folder, renamed into place.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { setTimeout as pause } from 'node:timers/promises';
import type { Files } from './trees.js';
import { prng } from './prng.js';

/** A node's folders as the workload sees them. */
export interface WorkloadNode {
  readonly name: string;
  /** The synced folder (LocalPath). */
  readonly dir: string;
  /** A scratch folder on the same file system, outside LocalPath, for atomic writes. */
  readonly staging: string;
}

/** What the workload needs besides the nodes. */
export interface WorkloadOptions {
  readonly nodes: readonly WorkloadNode[];
  /** The bucket's copy of a path (text), or null when absent. */
  readonly remote: (path: string) => Promise<string | null>;
  readonly seed: number;
  /** Own file names per node. */
  readonly ownFiles?: number;
  /** Most shared names alive at once. */
  readonly sharedFiles?: number;
  /** Chaos file names. */
  readonly chaosFiles?: number;
}

/** One line of the ledger. */
export interface LedgerEntry {
  readonly at: number;
  readonly node: string;
  readonly path: string;
  readonly op: 'write' | 'delete';
  readonly content?: string;
  /** For shared files: the operation this was part of; for chaos files, 'chaos'. */
  readonly burst?: SharedOpKind | 'chaos';
}

/** What a converged shared file must show after an operation on it. */
type Expect = { readonly kind: 'absent' } | { readonly kind: 'exactly'; readonly content: string } | { readonly kind: 'one-of'; readonly contents: readonly string[] };

/** Operations on a shared file (each starts from a state every side agrees on). */
export type SharedOpKind = 'create-burst' | 'edit-burst' | 'rewrite' | 'delete' | 'delete-vs-write';

interface SharedFile {
  readonly path: string;
  /** Every content ever written to it. */
  readonly versions: Set<string>;
  /** Contents a node knowingly replaced or deleted (the agreed state before an operation). */
  readonly superseded: Set<string>;
  /** What the last operation must converge to. */
  expect: Expect;
  ops: number;
}

/** Bursts and delete races that each force at least this many conflicts somewhere. */
interface ConflictFloor {
  value: number;
}

/** The workload and its ledger. */
export class Workload {
  readonly ledger: LedgerEntry[] = [];
  private readonly random: () => number;
  private readonly own = new Map<string, { owner: string; content: string | null }>();
  private readonly shared = new Map<string, SharedFile>();
  /** Chaos path → every content written to it. */
  private readonly chaos = new Map<string, Set<string>>();
  private readonly floor: ConflictFloor = { value: 0 };
  private readonly started = Date.now();
  private seq = 0;
  private readonly ownFiles: number;
  private readonly sharedFiles: number;
  private readonly chaosFiles: number;

  constructor(private readonly options: WorkloadOptions) {
    this.random = prng(options.seed);
    this.ownFiles = options.ownFiles ?? 6;
    this.sharedFiles = options.sharedFiles ?? 10;
    this.chaosFiles = options.chaosFiles ?? 3;
  }

  /** Runs operations for `durationMs`, one every 100–300 ms (the app's pace, not a wait). */
  async run(durationMs: number): Promise<void> {
    const end = Date.now() + durationMs;
    while (Date.now() < end) {
      const roll = this.random();
      if (roll < 0.25) await this.sharedStep();
      else if (roll < 0.4) this.chaosStep();
      else this.ownStep();
      await pause(100 + Math.floor(this.random() * 200));
    }
  }

  /** The fewest conflicts the nodes together must have counted for the shared operations made. */
  get minConflicts(): number {
    return this.floor.value;
  }

  /** Counts of what was done, for the test's log. */
  summary(): Record<string, number> {
    const count = (pred: (e: LedgerEntry) => boolean) => this.ledger.filter(pred).length;
    return {
      ownWrites: count((e) => !e.burst && e.op === 'write'),
      ownDeletes: count((e) => !e.burst && e.op === 'delete'),
      sharedWrites: count((e) => !!e.burst && e.burst !== 'chaos' && e.op === 'write'),
      sharedDeletes: count((e) => !!e.burst && e.burst !== 'chaos' && e.op === 'delete'),
      chaosOps: count((e) => e.burst === 'chaos'),
      sharedNames: this.shared.size,
      minConflicts: this.floor.value,
    };
  }

  /**
   * Judges converged files (one folder's, equal to all others and the bucket): every own file
   * with its last content or absent after its last delete; every shared file as its last
   * operation requires; no version lost (each is the final content, a keep-both copy, or was
   * knowingly replaced); chaos files and every copy hold only written versions; nothing else appeared.
   * `untouched` are files that were there before and nobody changed. Returns the violations.
   */
  verify(files: Files, untouched: Readonly<Record<string, string>>): string[] {
    const text = new Map([...files].map(([path, bytes]) => [path, bytes.toString('utf8')]));
    const problems: string[] = [];
    const accounted = new Set<string>();
    for (const [path, body] of Object.entries(untouched)) {
      accounted.add(path);
      if (text.get(path) !== body) problems.push(`${path}: untouched file is ${show(text.get(path))}, was ${show(body)}`);
    }
    for (const [path, { content }] of this.own) {
      accounted.add(path);
      const got = text.get(path) ?? null;
      if (got !== content) problems.push(`own ${path}: ${show(got)}, last written ${show(content)}`);
    }
    for (const file of this.shared.values()) {
      accounted.add(file.path);
      const final = text.get(file.path) ?? null;
      const copies = [...text.keys()].filter((path) => isCopyOf(path, file.path));
      for (const copy of copies) accounted.add(copy);
      problems.push(...this.judgeShared(file, final, copies.map((path) => text.get(path)!)));
    }
    for (const [path, versions] of this.chaos) {
      accounted.add(path);
      for (const name of [path, ...[...text.keys()].filter((p) => isCopyOf(p, path))]) {
        accounted.add(name);
        const got = text.get(name);
        if (got !== undefined && !versions.has(got)) problems.push(`chaos ${name}: holds ${show(got)}, never written to ${path}`);
      }
    }
    for (const path of text.keys()) if (!accounted.has(path)) problems.push(`${path}: nobody wrote it (a copy of an own file?)`);
    return problems;
  }

  private judgeShared(file: SharedFile, final: string | null, copies: readonly string[]): string[] {
    const problems: string[] = [];
    const where = `shared ${file.path}`;
    const mismatch = unmet(file.expect, final);
    if (mismatch) problems.push(`${where}: ${mismatch}`);
    for (const version of file.versions) {
      if (file.superseded.has(version) || version === final || copies.includes(version)) continue;
      problems.push(`${where}: version ${show(version)} was lost (not final, no conflict copy, never replaced knowingly)`);
    }
    for (const copy of copies) if (!file.versions.has(copy)) problems.push(`${where}: a conflict copy holds ${show(copy)}, never written`);
    return problems;
  }

  private ownStep(): void {
    const node = this.pick(this.options.nodes);
    const index = Math.floor(this.random() * this.ownFiles);
    const path = index % 3 === 2 ? `${node.name}/deep/g${index}.dat` : `${node.name}/f${index}.txt`;
    const state = this.own.get(path);
    if (state?.content != null && this.random() < 0.3) {
      this.remove(node, path);
      this.own.set(path, { owner: node.name, content: null });
    } else {
      this.own.set(path, { owner: node.name, content: this.write(node, path) });
    }
  }

  private chaosStep(): void {
    const node = this.pick(this.options.nodes);
    const path = `chaos/c${Math.floor(this.random() * this.chaosFiles)}.txt`;
    const versions = this.chaos.get(path) ?? new Set<string>();
    this.chaos.set(path, versions);
    if (readOrNull(join(node.dir, path)) !== null && this.random() < 0.4) this.remove(node, path, 'chaos');
    else versions.add(this.write(node, path, 'chaos'));
  }

  private async sharedStep(): Promise<void> {
    const candidates = [...this.shared.values()].sort(() => this.random() - 0.5).slice(0, 3);
    for (const file of candidates) {
      const agreed = await this.agreed(file.path);
      if (agreed === undefined) continue;
      const mismatch = unmet(file.expect, agreed);
      // Judged at the end too; acting on a file in a wrong state would blur the cause.
      if (mismatch) continue;
      this.operate(file, agreed);
      return;
    }
    if (this.shared.size < this.sharedFiles) {
      const path = `shared/s${String(this.shared.size).padStart(2, '0')}.txt`;
      const file: SharedFile = { path, versions: new Set(), superseded: new Set(), expect: { kind: 'absent' }, ops: 0 };
      this.shared.set(path, file);
      this.operate(file, null);
    }
  }

  /** The content every folder and the bucket agree on (null = absent everywhere), or undefined. */
  private async agreed(path: string): Promise<string | null | undefined> {
    const before = this.options.nodes.map((n) => readOrNull(join(n.dir, path)));
    const remote = await this.options.remote(path);
    const after = this.options.nodes.map((n) => readOrNull(join(n.dir, path)));
    return [...before, ...after].every((c) => c === remote) ? remote : undefined;
  }

  /** One operation on an agreed shared file, all of it synchronous (a burst). */
  private operate(file: SharedFile, agreed: string | null): void {
    file.ops++;
    if (agreed !== null) file.superseded.add(agreed);
    const nodes = [...this.options.nodes].sort(() => this.random() - 0.5);
    const roll = this.random();
    let kind: SharedOpKind;
    if (agreed === null) kind = 'create-burst';
    else if (roll < 0.35) kind = 'edit-burst';
    else if (roll < 0.55) kind = 'delete-vs-write';
    else if (roll < 0.75) kind = 'delete';
    else kind = 'rewrite';

    if (kind === 'create-burst' || kind === 'edit-burst') {
      const writers = nodes.slice(0, this.random() < 0.5 ? 2 : 3);
      const contents = writers.map((n) => this.write(n, file.path, kind));
      for (const c of contents) file.versions.add(c);
      file.expect = { kind: 'one-of', contents };
      this.floor.value += writers.length - 1;
    } else if (kind === 'delete-vs-write') {
      this.remove(nodes[0]!, file.path, kind);
      const content = this.write(nodes[1]!, file.path, kind);
      file.versions.add(content);
      // A write beats a concurrent delete, whatever the policy.
      file.expect = { kind: 'exactly', content };
      this.floor.value += 1;
    } else if (kind === 'delete') {
      this.remove(nodes[0]!, file.path, kind);
      file.expect = { kind: 'absent' };
    } else {
      const content = this.write(nodes[0]!, file.path, kind);
      file.versions.add(content);
      file.expect = { kind: 'exactly', content };
    }
  }

  private write(node: WorkloadNode, path: string, burst?: SharedOpKind | 'chaos'): string {
    const seq = ++this.seq;
    const pad = 'x'.repeat(Math.floor(this.random() * 600));
    const content = `${path} #${seq} by ${node.name}${burst ? ` (${burst})` : ''} ${pad}\n`;
    const target = join(node.dir, path);
    const temp = join(node.staging, `w${seq}`);
    writeFileSync(temp, content);
    mkdirSync(dirname(target), { recursive: true });
    renameSync(temp, target);
    this.ledger.push({ at: Date.now() - this.started, node: node.name, path, op: 'write', content, burst });
    return content;
  }

  private remove(node: WorkloadNode, path: string, burst?: SharedOpKind | 'chaos'): void {
    rmSync(join(node.dir, path), { force: true });
    this.ledger.push({ at: Date.now() - this.started, node: node.name, path, op: 'delete', burst });
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }
}

/** Why `actual` does not meet `expect`, or null. */
function unmet(expect: Expect, actual: string | null): string | null {
  switch (expect.kind) {
    case 'absent':
      return actual === null ? null : `should be absent, holds ${show(actual)}`;
    case 'exactly':
      return actual === expect.content ? null : `should hold ${show(expect.content)}, holds ${show(actual)}`;
    case 'one-of':
      return actual !== null && expect.contents.includes(actual)
        ? null
        : `should hold one of ${expect.contents.map(show).join(' | ')}, holds ${show(actual)}`;
  }
}

/** A keep-both copy of `path`: `stem.conflict-….ext` in the same folder. */
function isCopyOf(candidate: string, path: string): boolean {
  const ext = posix.extname(path);
  const stem = path.slice(0, path.length - ext.length);
  return candidate.startsWith(`${stem}.conflict-`) && candidate.endsWith(ext);
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** The head of a content, for messages. */
function show(content: string | null | undefined): string {
  if (content == null) return 'nothing';
  return JSON.stringify(content.split(' ').slice(0, 4).join(' '));
}
