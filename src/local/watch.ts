/**
 * File-system events as an early trigger for a tick. The periodic scan stays the truth; a missed
 * or coalesced event only delays a sync until the next poll.
 */
import { basename, relative, resolve, sep } from 'node:path';
import { isInternalPath } from './paths.js';
import { isAtOrUnder } from './scan.js';

/**
 * A running watcher. `ready` resolves once the initial crawl is done and events are reported, and
 * rejects when the watcher could not start (a caller must handle that).
 */
export interface LocalWatcher {
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** What to watch and what to leave out. */
export interface WatchOptions {
  readonly root: string;
  readonly followSymlinks: boolean;
  readonly skipPaths: readonly string[];
  /** Called with the relative POSIX path of a file or folder that was added, changed or removed. */
  readonly onChange: (path: string) => void;
  /** Watcher failures (e.g. out of inotify watches); the scan still runs on its timer. */
  readonly onError?: (err: Error) => void;
}

/**
 * Starts watching the root (not reporting what is already there). chokidar is loaded with the
 * first watcher: a one-shot run (`--poll 0`) never watches, and starts sooner without it.
 */
export function watchTree(options: WatchOptions): LocalWatcher {
  const toRel = (abs: string): string => relative(options.root, abs).split(sep).join('/');
  const skipFolders = new Set(options.skipPaths);
  const ignored = (abs: string): boolean => {
    const rel = toRel(abs);
    if (rel === '' || rel.startsWith('..')) return false;
    return isInternalPath(rel) || isAtOrUnder(rel, skipFolders);
  };
  const report = (abs: string): void => {
    const rel = toRel(abs);
    if (rel !== '' && !ignored(abs)) options.onChange(rel);
  };
  let closed = false;
  const started = import('chokidar')
    .then(({ watch }) => {
      // Closed while chokidar was loading: no crawl is started for nothing.
      if (closed) return null;
      const watcher = watch(options.root, { ignoreInitial: true, followSymlinks: options.followSymlinks, ignored });
      for (const event of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) watcher.on(event, report);
      // chokidar drops a change whose mtime did not move while the atime is later (a rewrite with
      // its mtime put back: cp -p, touch -r, rsync -t); the kernel's event still says the file
      // changed, and the ctime tells the scan what the mtime does not.
      watcher.on('raw', (_event: string, name: unknown, details: unknown) => {
        const at = rawEventPath(name, details);
        if (at !== null) report(at);
      });
      watcher.on('error', (err) => options.onError?.(asError(err)));
      const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
      return { watcher, ready };
    })
    .catch((err: unknown) => {
      // No watcher: ticks keep scanning on their timer, as the periodic scan is the truth anyway.
      options.onError?.(asError(err));
      return null;
    });
  return {
    ready: started.then((running) => running?.ready ?? Promise.reject(new Error('the file watcher did not start'))),
    close: async () => {
      closed = true;
      await (await started)?.watcher.close();
    },
  };
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/**
 * The absolute path a raw fs.watch event names: `name` is relative to the folder watched, or the
 * watched file's own name when chokidar watches a file. Null when the event names nothing.
 */
function rawEventPath(name: unknown, details: unknown): string | null {
  const watched = (details as { watchedPath?: unknown } | undefined)?.watchedPath;
  if (typeof name !== 'string' || name === '' || typeof watched !== 'string') return null;
  return basename(watched) === name ? watched : resolve(watched, name);
}
