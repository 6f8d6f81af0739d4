/**
 * The baseline's journal: every change a tick makes to the baseline, appended as it is made, so a
 * process killed in the middle of a tick (SIGKILL, OOM) restarts knowing each download, upload
 * and delete it finished — not only those of the last completed tick. Without it, a file it
 * downloaded would look added (and be uploaded back after another node deleted it), and one it
 * uploaded would look changed on both sides.
 *
 * Format: one JSON array per line: `[path, size, mtimeMs, etag, ctimeMs]` (the ctime left out when
 * unknown) for a path set, `[path]` for a path forgotten, each run of them headed by
 * `["#generation", id]`, the saved baseline they apply to. Replayed over that baseline at start, in
 * order; a line torn by the kill is skipped. Emptied each time the whole baseline is saved.
 */
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BaselineEntry } from './sync/types.js';
import { messageOf } from './errors.js';

/** A baseline entry as stored, in the baseline file and in the journal. */
export type Row = [path: string, size: number, mtimeMs: number, etag: string, ctimeMs?: number];

/** A baseline entry as a row of the file or a journal line: `[path, size, mtimeMs, etag, ctimeMs?]`. */
export function rowOf(path: string, e: BaselineEntry): Row {
  return e.ctimeMs === undefined ? [path, e.size, e.mtimeMs, e.etag] : [path, e.size, e.mtimeMs, e.etag, e.ctimeMs];
}

/** The entry of a row (see rowOf), or null when it is not one; a row of four (version 1) has no ctime. */
export function entryOfRow(row: unknown): { path: string; entry: BaselineEntry } | null {
  if (!Array.isArray(row) || (row.length !== 4 && row.length !== 5)) return null;
  const [path, size, mtimeMs, etag, ctimeMs] = row as unknown[];
  if (typeof path !== 'string' || !Number.isFinite(size) || !Number.isFinite(mtimeMs) || typeof etag !== 'string') return null;
  const entry = { size: size as number, mtimeMs: mtimeMs as number, etag };
  if (row.length === 4) return { path, entry };
  return Number.isFinite(ctimeMs) ? { path, entry: { ...entry, ctimeMs: ctimeMs as number } } : null;
}

/** What a journal file held: its changes in order, and which lines could not be read, if any. */
export interface JournalContents {
  readonly changes: readonly JournalChange[];
  readonly unreadable: string | null;
}

/** One change: an entry set, or (entry null) a path forgotten. */
export interface JournalChange {
  readonly path: string;
  readonly entry: BaselineEntry | null;
}

/** Appends baseline changes to one file; see the module comment. */
export class BaselineJournal {
  #fd: number | null = null;
  #pending: string[] = [];
  #flushScheduled = false;
  #warned = false;
  /**
   * The generation of the saved baseline the changes apply to (null: none saved yet). Written at
   * the head of each run of lines; a replay takes only lines under the generation it loaded, so
   * a journal that outlived its baseline (a rollback to a build that never empties it, a failed
   * removal) is never replayed over a newer one.
   */
  base: string | null = null;

  constructor(
    readonly file: string,
    private readonly onError: (message: string) => void,
  ) {}

  /**
   * Records a change. Lines are written together once the current callbacks are done: one write
   * for all the actions that finished at once, still before the next I/O callback runs.
   */
  record(path: string, entry: BaselineEntry | null): void {
    this.#pending.push(`${JSON.stringify(entry ? rowOf(path, entry) : [path])}\n`);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes what is pending now. A failure is reported once; the end-of-tick save still stands. */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#pending.length === 0) return;
    let text = this.#pending.join('');
    this.#pending = [];
    try {
      if (this.#fd === null) {
        mkdirSync(dirname(this.file), { recursive: true });
        this.#fd = openSync(this.file, 'a');
        // A journal left by a killed run (or a write cut short) may end in part of a line: ours
        // start on a line of their own, under the generation they apply to.
        text = `\n${JSON.stringify([GENERATION_MARK, this.base])}\n${text}`;
      }
      const bytes = Buffer.from(text);
      for (let at = 0; at < bytes.length; ) at += writeSync(this.#fd, bytes, at);
    } catch (err) {
      if (!this.#warned) this.onError(`writing the baseline journal ${this.file}: ${messageOf(err)}`);
      this.#warned = true;
      // Reopened for the next lines, which then start on a line of their own.
      this.#close();
    }
  }

  #close(): void {
    if (this.#fd === null) return;
    try {
      closeSync(this.#fd);
    } catch {
      // closing a descriptor that failed a write: nothing more to lose
    }
    this.#fd = null;
  }

  /** Empties the journal: the saved baseline now holds every change in it. */
  discard(): void {
    this.#pending = [];
    this.#close();
    try {
      unlinkSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(`removing the baseline journal ${this.file}: ${messageOf(err)}`);
    }
  }

  /** The changes on disk, in order (none when there is no journal). */
  async read(generation: string | null): Promise<JournalContents> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { changes: [], unreadable: null };
      return { changes: [], unreadable: `read ${this.file}: ${messageOf(err)}` };
    }
    const changes: JournalChange[] = [];
    const unreadable: number[] = [];
    let current: string | null | undefined;
    for (const [index, line] of text.split('\n').entries()) {
      if (line === '') continue;
      const mark = generationOf(line);
      if (mark !== undefined) {
        current = mark;
        continue;
      }
      const change = parseLine(line);
      if (!change) unreadable.push(index + 1);
      else if (current === generation) changes.push(change);
    }
    // A line cut short is normally the last (the next run's lines start on a new line). Each line
    // stands alone: the others still hold.
    const note = unreadable.length > 0 ? `${this.file}: line(s) ${unreadable.join(', ')} unreadable (a write cut short), skipped` : null;
    return { changes, unreadable: note };
  }
}

/** The first element of a generation line (the rest is the generation or null). */
const GENERATION_MARK = '#generation';

/** The generation a line announces; undefined for a line that is not one. */
function generationOf(line: string): string | null | undefined {
  if (!line.startsWith(`["${GENERATION_MARK}"`)) return undefined;
  try {
    const row: unknown = JSON.parse(line);
    if (Array.isArray(row) && row.length === 2 && (typeof row[1] === 'string' || row[1] === null)) return row[1] as string | null;
  } catch {
    // cut short: not a generation line
  }
  return undefined;
}

function parseLine(line: string): JournalChange | null {
  let row: unknown;
  try {
    row = JSON.parse(line);
  } catch {
    return null;
  }
  if (!Array.isArray(row) || typeof row[0] !== 'string') return null;
  if (row.length === 1) return { path: row[0], entry: null };
  return entryOfRow(row);
}

/**
 * A tick's working baseline that journals each change as the executor makes it. Only changes are
 * journaled: the entries it starts from are already saved.
 */
export class JournaledBaseline extends Map<string, BaselineEntry> {
  readonly #journal: BaselineJournal;
  #changed = false;

  constructor(entries: Iterable<readonly [string, BaselineEntry]>, journal: BaselineJournal) {
    // Map's constructor adds entries through `set`, before #journal exists: filled afterwards.
    super();
    this.#journal = journal;
    for (const [path, entry] of entries) super.set(path, entry);
  }

  override set(path: string, entry: BaselineEntry): this {
    const before = super.get(path);
    super.set(path, entry);
    // A set to what is there already (a record of a file unchanged) changes nothing to replay.
    if (!before || !sameBaselineEntry(before, entry)) this.#record(path, entry);
    return this;
  }

  override delete(path: string): boolean {
    const had = super.delete(path);
    if (had) this.#record(path, null);
    return had;
  }

  /** Whether anything differs from the entries it started from (a change undone again counts). */
  get changed(): boolean {
    return this.#changed;
  }

  #record(path: string, entry: BaselineEntry | null): void {
    this.#changed = true;
    this.#journal.record(path, entry);
  }
}

/** Two entries that record the same agreement. */
export function sameBaselineEntry(a: BaselineEntry, b: BaselineEntry): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.etag === b.etag && a.ctimeMs === b.ctimeMs;
}
