/**
 * The baseline: for each path, the state both sides agreed on after its last successful sync.
 * Persisted in the state directory so a restart on the same disk resumes three-way semantics.
 *
 * Format (version 1): one JSON document `{ format, version, identity, savedAt, entries, ctimes }`
 * with `entries` as `[path, size, mtimeMs, etag]` arrays — compact, and one JSON.parse handles
 * 100k entries in well under a second — and `ctimes` the entries' ctimes in the same order (null
 * where unknown). The ctimes sit beside the rows, not in them, so a build from before they were
 * kept still reads the file (ignoring them) after a rollback instead of starting over with a first
 * sync; a file without them loads with no ctimes. Written atomically: temp file, fsync, rename,
 * fsync the folder.
 * Changes made since the last save are in the journal beside it (baseline-journal.ts), replayed
 * on load.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { BaselineEntry } from './sync/types.js';
import { BaselineJournal, entryOfRow, type Row } from './baseline-journal.js';
import { messageOf } from './errors.js';

/** Which sync a baseline belongs to: one from another bucket, prefix or folder is never used. */
export interface BaselineIdentity {
  readonly bucket: string;
  readonly prefix: string;
  readonly localPath: string;
}

/** Why no baseline was loaded. */
export type BaselineMissReason = 'missing' | 'other-identity' | 'unsupported-version' | 'corrupt';

/**
 * Result of `BaselineStore.loadWithReason`: the entries, or null and why; `replayed` counts the
 * journal's changes applied to them, `journalNote` names journal lines that could not be read.
 */
export type BaselineLoad =
  | {
      readonly entries: Map<string, BaselineEntry>;
      readonly reason: null;
      readonly detail?: undefined;
      readonly replayed: number;
      readonly journalNote: string | null;
    }
  | { readonly entries: null; readonly reason: BaselineMissReason; readonly detail: string };

/** The format version written by this build. */
export const BASELINE_VERSION = 1;
const FORMAT = 's3-sync2-baseline';
const TEMP_SUFFIX = '.tmp-';


interface BaselineFile {
  format: string;
  version: number;
  identity: BaselineIdentity;
  savedAt: string;
  /** Names this save: the journal's lines say which save they follow (see BaselineJournal.base). */
  generation: string;
  entries: Row[];
  ctimes: (number | null)[];
}

/** The generation expected of a journal over a file saved without one (by an earlier build): none matches. */
const NO_GENERATION = 'none';

/** Loads and saves the baseline of one sync (bucket, prefix, local folder) in a state directory. */
export class BaselineStore {
  /** The file holding this sync's baseline; named after the identity so one state dir can serve several. */
  readonly file: string;
  /** The changes made since the last save. */
  readonly journal: BaselineJournal;

  /** `warn` hears of a journal that could not be written or emptied (the sync goes on). */
  constructor(
    private readonly stateDir: string,
    private readonly identity: BaselineIdentity,
    warn: (message: string) => void = () => undefined,
  ) {
    const id = createHash('sha256').update(JSON.stringify([identity.bucket, identity.prefix, identity.localPath])).digest('hex');
    this.file = join(stateDir, `s3-sync2-baseline-${id.slice(0, 16)}.json`);
    this.journal = new BaselineJournal(`${this.file}.journal`, warn);
  }

  /** The saved entries, or null when there is no usable baseline (missing, foreign, corrupt). */
  async load(): Promise<Map<string, BaselineEntry> | null> {
    return (await this.loadWithReason()).entries;
  }

  /**
   * Like `load`, saying why there is no baseline (for a log line); never throws for a bad file.
   * The journal is replayed over the saved entries (over none when nothing was saved yet: a first
   * sync killed part-way); a baseline that cannot be used makes its journal meaningless.
   */
  async loadWithReason(): Promise<BaselineLoad> {
    const { load: saved, generation } = await this.loadSaved();
    if (saved.reason !== null && saved.reason !== 'missing') return saved;
    this.journal.base = generation;
    const journal = await this.journal.read(generation);
    if (saved.reason === 'missing' && journal.changes.length === 0) return saved;
    const entries = saved.entries ?? new Map<string, BaselineEntry>();
    for (const { path, entry } of journal.changes) {
      if (entry) entries.set(path, entry);
      else entries.delete(path);
    }
    return { entries, reason: null, replayed: journal.changes.length, journalNote: journal.unreadable };
  }

  /** The saved file alone, and the generation a journal over it must carry (null: none saved). */
  private async loadSaved(): Promise<{ load: BaselineLoad; generation: string | null }> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { load: { entries: null, reason: 'missing', detail: `no baseline at ${this.file}` }, generation: null };
      return { load: { entries: null, reason: 'corrupt', detail: `read ${this.file}: ${messageOf(err)}` }, generation: null };
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      return { load: { entries: null, reason: 'corrupt', detail: `parse ${this.file}: ${messageOf(err)}` }, generation: null };
    }
    const generation = isRecord(doc) && typeof doc.generation === 'string' ? doc.generation : NO_GENERATION;
    return { load: this.decode(doc), generation };
  }

  /**
   * Replaces the stored baseline atomically; a crash leaves either the old or the new one. The
   * journal is emptied after: `entries` must hold every change journaled so far. (Killed between
   * the two, the journal's changes replay onto the entries that already hold them: no change.)
   */
  async save(entries: ReadonlyMap<string, BaselineEntry>): Promise<void> {
    const rows: Row[] = [];
    const ctimes: (number | null)[] = [];
    for (const [path, e] of entries) {
      rows.push([path, e.size, e.mtimeMs, e.etag]);
      ctimes.push(e.ctimeMs ?? null);
    }
    const doc: BaselineFile = {
      format: FORMAT,
      version: BASELINE_VERSION,
      identity: { bucket: this.identity.bucket, prefix: this.identity.prefix, localPath: this.identity.localPath },
      savedAt: new Date().toISOString(),
      generation: randomBytes(8).toString('hex'),
      entries: rows,
      ctimes,
    };
    try {
      await mkdir(this.stateDir, { recursive: true });
    } catch (err) {
      throw new Error(`create state dir ${this.stateDir}: ${messageOf(err)}`, { cause: err });
    }
    await this.removeStaleTemps();
    const tmp = `${this.file}${TEMP_SUFFIX}${randomBytes(6).toString('hex')}`;
    try {
      const handle = await open(tmp, 'wx');
      try {
        await handle.writeFile(JSON.stringify(doc));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new Error(`save baseline ${this.file}: ${messageOf(err)}`, { cause: err });
    }
    await syncDir(this.stateDir);
    this.journal.base = doc.generation;
    this.journal.discard();
  }

  /** Removes temp files of saves interrupted by a crash (they are never read). */
  private async removeStaleTemps(): Promise<void> {
    const stem = `${basename(this.file)}${TEMP_SUFFIX}`;
    const names = await readdir(this.stateDir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => n.startsWith(stem)).map((n) => unlink(join(this.stateDir, n)).catch(() => undefined)));
  }

  private decode(doc: unknown): BaselineLoad {
    const corrupt = (detail: string): BaselineLoad => ({ entries: null, reason: 'corrupt', detail: `${this.file}: ${detail}` });
    if (!isRecord(doc) || doc.format !== FORMAT) return corrupt('not a baseline file');
    if (doc.version !== BASELINE_VERSION) {
      return { entries: null, reason: 'unsupported-version', detail: `${this.file}: version ${String(doc.version)}, expected ${BASELINE_VERSION}` };
    }
    const id = doc.identity;
    if (!isRecord(id) || id.bucket !== this.identity.bucket || id.prefix !== this.identity.prefix || id.localPath !== this.identity.localPath) {
      return { entries: null, reason: 'other-identity', detail: `${this.file} belongs to ${JSON.stringify(id)}` };
    }
    if (!Array.isArray(doc.entries)) return corrupt('entries missing');
    const rows = doc.entries as unknown[];
    // Written by a build that kept no ctimes, or rewritten by one after a rollback: none known.
    const ctimes = Array.isArray(doc.ctimes) && doc.ctimes.length === rows.length ? (doc.ctimes as unknown[]) : [];
    const entries = new Map<string, BaselineEntry>();
    for (const [index, row] of rows.entries()) {
      const entry = Array.isArray(row) && row.length === 4 ? entryOfRow(row) : null;
      if (!entry) return corrupt(`bad entry ${JSON.stringify(row)}`);
      const ctimeMs = ctimes[index];
      entries.set(entry.path, Number.isFinite(ctimeMs) ? { ...entry.entry, ctimeMs: ctimeMs as number } : entry.entry);
    }
    return { entries, reason: null, replayed: 0, journalNote: null };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Makes the rename durable; not every file system lets a folder be opened for fsync. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort: the data itself was fsynced before the rename
  }
}
