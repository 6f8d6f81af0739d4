/**
 * File-system events as an early trigger for a tick. The periodic scan stays the truth; a missed
 * or coalesced event only delays a sync until the next poll.
 */
import { relative, sep } from 'node:path';
import { isInternalPath } from './paths.js';
import { isUnderAny } from './scan.js';

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
  const ignored = (abs: string): boolean => {
    const rel = toRel(abs);
    if (rel === '' || rel.startsWith('..')) return false;
    return isInternalPath(rel) || isUnderAny(rel, options.skipPaths);
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
