/**
 * The local side of a tick: a stat scan, or the previous scan reused when the file watcher saw
 * nothing since. A full rescan still runs every `rescanIntervalMs` as the safety net against
 * missed events, and whenever a caller asks for one (HTTP triggers, shutdown).
 *
 * `--md5-skip-path` folders are left out of the watcher and of event-driven rescans; their entries
 * are carried over from the last full rescan (seed: they are excluded from change detection).
 */
import type { LocalEntry } from '../sync/types.js';
import { isAtOrUnder, sameEntry, type SkippedPath } from './scan.js';
import type { LocalTree } from './tree.js';
import type { LocalWatcher } from './watch.js';

/** A scan's result. */
export interface LocalScan {
  readonly entries: ReadonlyMap<string, LocalEntry>;
  /** Left out; a skipped folder (`folder: true`) hides what is under it. */
  readonly skipped: readonly SkippedPath[];
  /** Whether the file system was actually read (false = reused). */
  readonly scanned: boolean;
  /**
   * Wall-clock time (ms) before the first stat of any entry (entries carried over from an earlier
   * scan count from that scan): a file whose ctime is this recent may have been written again in
   * the same timestamp tick after its stat (see racyRead).
   */
  readonly statsFromMs: number;
}

/** Dependencies of the snapshot source. */
export interface LocalSnapshotOptions {
  /** Tree that scans everything. */
  readonly fullTree: LocalTree;
  /** Tree that leaves out the --md5-skip-path folders (same object as fullTree when there are none). */
  readonly quickTree: LocalTree;
  readonly skipPaths: readonly string[];
  readonly rescanIntervalMs: number;
  readonly now?: () => number;
}

/** Produces local snapshots for ticks, watcher-fed. */
export class LocalSnapshotSource {
  private last: LocalScan | null = null;
  private lastFullAt = -Infinity;
  private dirty = true;
  private watching: LocalWatcher | null = null;
  /**
   * Whether the watcher has finished its initial crawl: until then a change can go unreported,
   * so every tick scans (as before the watcher started).
   */
  private watcherReady = false;
  /**
   * The watcher ran out of what the OS gives watchers (inotify watches, file descriptors): files
   * it could not watch would change unreported, so it is closed and every tick scans.
   */
  private watcherGaveUp = false;
  private readonly now: () => number;
  private readonly skipFolders: ReadonlySet<string>;

  constructor(private readonly options: LocalSnapshotOptions) {
    this.now = options.now ?? (() => performance.now());
    this.skipFolders = new Set(options.skipPaths);
  }

  /**
   * Starts the watcher; `onChange` hears every relevant change (for an early tick), `onError` the
   * watcher's failures, after each of which the next tick scans (an event may have been lost).
   * A watcher out of OS resources is closed for good (one error reported, saying so): its watches
   * are freed for the app, and every tick scans as without a watcher.
   */
  watch(onChange: (path: string) => void, onError?: (err: Error) => void): void {
    if (this.watching) return;
    const watcher = this.options.quickTree.watch(
      (path) => {
        this.dirty = true;
        onChange(path);
      },
      (err) => {
        this.dirty = true;
        // The first such error closes the watcher; the rest of the crawl's (one per file) say nothing new.
        if (this.watcherGaveUp) return;
        const remedy = outOfWatchResources(err);
        if (remedy === null) return onError?.(new Error(`${err.message} (the next tick scans the folder)`, { cause: err }));
        this.watcherGaveUp = true;
        this.watcherReady = false;
        void watcher.close().catch(() => undefined);
        onError?.(new Error(`${err.message}: the watcher is stopped and every tick scans the folder (${remedy})`, { cause: err }));
      },
    );
    this.watching = watcher;
    watcher.ready.then(
      () => {
        if (this.watching !== watcher || this.watcherGaveUp) return;
        this.watcherReady = true;
        // A change between the last scan and the end of the crawl may have gone unreported.
        this.dirty = true;
      },
      // A watcher that could not start leaves every tick scanning.
      () => undefined,
    );
  }

  /** Marks the snapshot stale (e.g. after the sidecar itself wrote files). */
  invalidate(): void {
    this.dirty = true;
  }

  /** The local snapshot for a tick; `full` forces a rescan of everything. */
  async snapshot(full: boolean): Promise<LocalScan> {
    const { fullTree, quickTree, rescanIntervalMs } = this.options;
    const due = this.now() - this.lastFullAt >= rescanIntervalMs;
    if (full || due || !this.watcherReady || !this.last) {
      this.dirty = false;
      const statsFromMs = Date.now();
      const scan = await this.scanOrStale(fullTree);
      this.lastFullAt = this.now();
      return (this.last = { ...scan, entries: this.unlessUnchanged(scan.entries), scanned: true, statsFromMs });
    }
    if (!this.dirty) return { ...this.last, scanned: false };
    this.dirty = false;
    let statsFromMs = Date.now();
    const quick = await this.scanOrStale(quickTree);
    const entries = new Map(quick.entries);
    if (quickTree !== fullTree) {
      for (const [path, entry] of this.last.entries) {
        if (isAtOrUnder(path, this.skipFolders)) entries.set(path, entry);
      }
      statsFromMs = Math.min(statsFromMs, this.last.statsFromMs);
    }
    return (this.last = { entries: this.unlessUnchanged(entries), skipped: quick.skipped, scanned: true, statsFromMs });
  }

  /**
   * The last snapshot's entries when `entries` hold the same files with the same stats, so that a
   * rescan that found nothing new is the same snapshot to whoever compares them (see quiet-tick.ts).
   */
  private unlessUnchanged(entries: ReadonlyMap<string, LocalEntry>): ReadonlyMap<string, LocalEntry> {
    const last = this.last?.entries;
    if (last === undefined || last.size !== entries.size) return entries;
    for (const [path, entry] of entries) {
      const before = last.get(path);
      if (before === undefined || !sameEntry(before, entry)) return entries;
    }
    return last;
  }

  /**
   * `tree.scan()`; a scan that fails leaves the snapshot stale, so the next tick scans again rather
   * than reuse the last one (a LocalPath removed under a running sidecar was reported healthy, with
   * its old files, until the next full rescan).
   */
  private async scanOrStale(tree: LocalTree): ReturnType<LocalTree['scan']> {
    try {
      return await tree.scan();
    } catch (err) {
      this.dirty = true;
      // And the next good scan a full one: entries carried over (--md5-skip-path) may be stale too.
      this.lastFullAt = -Infinity;
      throw err;
    }
  }

  /** Stops the watcher. */
  async close(): Promise<void> {
    const watcher = this.watching;
    this.watching = null;
    this.watcherReady = false;
    await watcher?.close();
  }
}

/**
 * For an error that means the OS refused the watcher more watches or descriptors (some files go
 * unwatched), what would make room; null for any other error.
 */
function outOfWatchResources(err: Error): string | null {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOSPC':
      return 'raise fs.inotify.max_user_watches, or leave big folders to --md5-skip-path';
    case 'EMFILE':
    case 'ENFILE':
      return 'raise the open-file limit (ulimit -n) or fs.inotify.max_user_instances';
    default:
      return null;
  }
}
