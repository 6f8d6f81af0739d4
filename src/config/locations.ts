/** Checks of paths that depend on where LocalPath is: `--md5-skip-path` entries and `--state-dir`. */
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { DEFAULT_STATE_DIR_NAME } from './options.js';
import { ValueError } from './parsers.js';

/** LocalPath, absolute and as the user wrote it, and the folder relative paths are resolved against. */
export interface LocalRoot {
  readonly cwd: string;
  readonly localPath: string;
  readonly asGiven: string;
}

/**
 * One `--md5-skip-path` entry as a relative POSIX folder inside LocalPath. The seed's users wrote
 * these with LocalPath in front (`/data/cache`), so an entry that starts with LocalPath as given is
 * taken from the working folder; any other relative entry is relative to LocalPath.
 */
export function skipPathUnder(entry: string, root: LocalRoot): string {
  const trimmed = entry.replace(/\/+$/, '');
  const given = normalize(root.asGiven).replace(/\/+$/, '');
  const normalized = normalize(trimmed);
  const startsWithLocal = given !== '.' && (normalized === given || normalized.startsWith(`${given}/`));
  const base = isAbsolute(trimmed) || startsWithLocal ? root.cwd : root.localPath;
  const rel = relative(root.localPath, resolve(base, trimmed));
  if (rel === '' || escapes(rel)) {
    throw new ValueError(`must name folders inside <LocalPath> (${root.localPath}), and "${entry}" is not one`);
  }
  return rel.split(sep).join('/');
}

/**
 * The absolute state folder. Inside LocalPath it must live under a `.s3-sync2*` name, which the
 * engine never syncs; anywhere else is fine. Default: `<LocalPath>/.s3-sync2-state`, so a restart
 * on the same disk resumes.
 */
export function stateDirFor(given: string | undefined, root: LocalRoot): string {
  if (given === undefined) return join(root.localPath, DEFAULT_STATE_DIR_NAME);
  const dir = resolve(root.cwd, given);
  const rel = relative(root.localPath, dir);
  if (rel === '') throw new ValueError('must not be <LocalPath> itself');
  if (!escapes(rel) && !(rel.split(sep)[0] ?? '').startsWith('.s3-sync2')) {
    throw new ValueError('must be outside <LocalPath>, or inside it under a folder named .s3-sync2* (never synced)');
  }
  return dir;
}

function escapes(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}
