/**
 * Carries out a plan: transfers with bounded concurrency, conditional remote writes, atomic local
 * writes, and the baseline entry each success earns. Failures are per path; a 412 sends the path
 * back to the planner as a conflict instead of overwriting another writer's change.
 */
import { posix } from 'node:path';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { DirectionOptions } from '../config.js';
import {
  AccessError,
  ConditionalConflictError,
  LocalChangedError,
  messageOf,
  NotFoundError,
  PathCollisionError,
  PreconditionFailedError,
  SyncError,
  UnsafePathError,
} from '../errors.js';
import type { Metrics } from '../metrics.js';
import { pathToKey, unsafePathReason } from '../local/paths.js';
import type { LocalTree, UploadSource } from '../local/tree.js';
import type { Bucket, ObjectWriteOptions, PartSource } from '../remote/types.js';
import { guessContentType } from './content-type.js';
import type { TickCounts } from './controller.js';
import {
  NO_OBJECT_ETAG,
  RACY_CTIME,
  racyRead,
  type Action,
  type BaselineEntry,
  type Direction,
  type FileStat,
  type LocalEntry,
  type RemoteEntry,
} from './types.js';

/** The state an execution reads and updates: snapshots of both sides and the working baseline. */
export interface ExecutionState {
  readonly local: ReadonlyMap<string, LocalEntry>;
  readonly remote: ReadonlyMap<string, RemoteEntry>;
  /** Updated in place as actions succeed. */
  readonly baseline: Map<string, BaselineEntry>;
  /**
   * Folders whose files this tick deletes because the other side deleted them: a download of a
   * file of the same name (a folder replaced by a file) may remove the emptied folder first.
   */
  readonly emptiedFolders?: ReadonlySet<string>;
  /** When the stats of `local` began (LocalScan.statsFromMs). */
  readonly localStatsFromMs: number;
  /** When the read that hashed each path began; filled as paths are hashed. */
  readonly hashStartedMs: Map<string, number>;
}

/** What an execution did. */
export interface ExecutionResult {
  readonly counts: TickCounts;
  /** Per-path failures, as short messages. */
  readonly errors: string[];
  /** Paths whose conditional write found another writer's change: re-plan them. */
  readonly raced: string[];
  /** Paths not uploaded because they changed while read, and during every snapshot copy too. */
  readonly keptChanging: string[];
  /** Remote keys written or deleted (for CDN invalidation). */
  readonly changedKeys: string[];
  /** Files each side gained (new paths) minus those it lost, so the tracked counts stay true. */
  readonly fileDelta: { local: number; remote: number };
}

/** Collaborators and options of the executor. */
export interface ExecutorDeps {
  readonly bucket: Bucket;
  readonly tree: LocalTree;
  readonly prefix: string;
  readonly up: DirectionOptions;
  readonly down: DirectionOptions;
  readonly concurrency: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

type MutableCounts = { -readonly [K in keyof TickCounts]: TickCounts[K] };

/** The result while it is being built. */
type MutableResult = Omit<ExecutionResult, 'counts'> & { counts: MutableCounts };

/** Zero counts. */
export function emptyCounts(): MutableCounts {
  return { uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, skipped: 0, bytesUp: 0, bytesDown: 0, dryrun: 0 };
}

/** A result with nothing done yet. */
export function emptyResult(): MutableResult {
  return { counts: emptyCounts(), errors: [], raced: [], keptChanging: [], changedKeys: [], fileDelta: { local: 0, remote: 0 } };
}

/** Thrown inside an action when the distributed lock was lost: no more remote writes. */
export class LockLostError extends SyncError {
  constructor() {
    super('distributed lock lost: remote writes stopped for this tick');
  }
}

/** Why remote writes stopped: the shutdown's reason, else the lock was lost. */
function stopReason(signal: AbortSignal): SyncError {
  return signal.reason instanceof SyncError ? signal.reason : new LockLostError();
}

/** Executes plans against one bucket prefix and one local tree. */
export class Executor {
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(private readonly deps: ExecutorDeps) {
    this.limit = pLimit(deps.concurrency);
  }

  /**
   * Runs `actions` concurrently. `signal` (the lock's, or the shutdown's) aborts remote writes not
   * yet started, and uploads whose bodies still wait for memory.
   * Never throws for a single path; the result lists what failed.
   */
  async execute(actions: readonly Action[], state: ExecutionState, signal?: AbortSignal): Promise<ExecutionResult> {
    const result = emptyResult();
    await Promise.all(
      actions.map((action) =>
        this.limit(async () => {
          try {
            if (signal?.aborted && writesRemote(action)) throw stopReason(signal);
            await this.perform(action, state, result, signal);
          } catch (err) {
            this.recordFailure(action, err, result);
          }
        }),
      ),
    );
    return result;
  }

  private recordFailure(action: Action, err: unknown, result: MutableResult): void {
    const { logger, metrics } = this.deps;
    // 412: another writer changed the object first. 404: the object we listed is gone (another
    // node deleted it). Either way the facts are stale: re-plan the path on fresh ones.
    // 409: two conditional writes raced (S3 does not retry it); the path is re-planned too.
    if (err instanceof PreconditionFailedError || err instanceof NotFoundError || err instanceof ConditionalConflictError) {
      const what = err instanceof NotFoundError ? 'deleted' : 'changed';
      logger.warn({ path: action.path, action: action.kind }, `another writer ${what} the object first; re-planning`);
      result.raced.push(action.path);
      return;
    }
    if (err instanceof PathCollisionError || err instanceof UnsafePathError) {
      const reason = err instanceof PathCollisionError ? 'collision' : 'unsafe';
      logger.warn({ path: action.path, reason }, `${err.message}; skipped`);
      metrics.skippedKeys.inc({ reason });
      result.counts.skipped++;
      return;
    }
    if (err instanceof ChangedWhileReadError) {
      // Not a failure of the tick: the next round plans it again. But the file changed during
      // every copy too: at shutdown, that is the last version of it lost with the task.
      logger.warn({ path: action.path, action: action.kind }, `${err.message}, and no steady snapshot of it was made: not uploaded this round`);
      metrics.skippedKeys.inc({ reason: 'kept-changing' });
      result.keptChanging.push(action.path);
      result.counts.skipped++;
      return;
    }
    if (err instanceof LocalChangedError) {
      // Not a failure: the app is writing; the next round sees the change and plans again.
      logger.info({ path: action.path, action: action.kind }, err.message);
      result.counts.skipped++;
      return;
    }
    if (err instanceof AccessError) {
      // One object the task may not read or copy (archived by a lifecycle rule, a KMS key the role
      // cannot use): the bucket itself answered the listing, so this is about the object, and
      // failing every tick for it would crash-loop the task.
      logger.error({ path: action.path, action: action.kind, err }, `${action.kind} ${action.path}: ${err.message}; skipped`);
      metrics.skippedKeys.inc({ reason: 'access-denied' });
      result.counts.skipped++;
      return;
    }
    if (isPermissionDenied(err)) {
      // A file the sidecar may not read or write (e.g. mode 0600 from an app running as another
      // user) would otherwise fail every tick and, at --max-failures, crash-loop the task.
      logger.error({ path: action.path, action: action.kind, err }, `${action.kind} ${action.path}: permission denied; skipped`);
      metrics.skippedKeys.inc({ reason: 'permission-denied' });
      result.counts.skipped++;
      return;
    }
    const message = `${action.kind} ${action.path}: ${messageOf(err)}`;
    logger.error({ path: action.path, action: action.kind, err }, message);
    result.errors.push(message);
  }

  private async perform(action: Action, state: ExecutionState, result: MutableResult, signal: AbortSignal | undefined): Promise<void> {
    const { logger } = this.deps;
    const direction = directionOf(action);
    const options = direction === undefined ? undefined : this.deps[direction];
    const dry = isDryRun(action, this.deps.up, this.deps.down);
    if (dry) {
      // As aws: --quiet hides the (dryrun) lines, --only-show-errors does not.
      const quiet = options ? options.quiet : this.deps.up.quiet && this.deps.down.quiet;
      if (!quiet) logger.info({ path: action.path, action: action.kind, reason: action.reason }, `(dryrun) ${action.kind}: ${action.path}`);
      // Baseline bookkeeping is not something a user would see done.
      if (!isBookkeeping(action)) result.counts.dryrun++;
      return;
    }
    switch (action.kind) {
      case 'upload': {
        const written = await this.upload(action.path, action.path, action.expectEtag, signal);
        if (!written) throw new ChangedWhileReadError(action.path);
        state.baseline.set(action.path, written.baseline);
        this.count(result, 'up', 'upload', written.bytes);
        result.changedKeys.push(this.key(action.path));
        if (action.expectEtag === null) result.fileDelta.remote++;
        break;
      }
      case 'download': {
        const remote = mustHave(state.remote, action.path, 'remote');
        if (state.emptiedFolders?.has(action.path)) await this.clearEmptiedFolder(action.path, state.emptiedFolders);
        const entry = await this.download(action.path, action.path, remote, state.local.get(action.path) ?? null);
        state.baseline.set(action.path, agreed(entry, remote.etag));
        this.count(result, 'down', 'download', entry.size);
        if (!state.local.has(action.path)) result.fileDelta.local++;
        break;
      }
      case 'delete-remote': {
        await this.deps.bucket.delete(this.key(action.path), { ifMatch: action.expectEtag });
        state.baseline.delete(action.path);
        this.count(result, 'up', 'delete_remote', 0);
        result.changedKeys.push(this.key(action.path));
        result.fileDelta.remote--;
        break;
      }
      case 'delete-local': {
        await this.deps.tree.remove(action.path, state.local.get(action.path) ?? null);
        state.baseline.delete(action.path);
        this.count(result, 'down', 'delete_local', 0);
        result.fileDelta.local--;
        break;
      }
      case 'record': {
        const local = mustHave(state.local, action.path, 'local');
        const remote = mustHave(state.remote, action.path, 'remote');
        // Found equal by a read: its hash, or (equal by size) the scan's stat. A write after that
        // read, in the timestamp tick of the ctime, keeps size, mtime and ctime: a ctime that
        // recent is checked again. From the read on, not from now: a slow hash or a lock wait can
        // come between the read and this record.
        const readFrom = state.hashStartedMs.get(action.path) ?? state.localStatsFromMs;
        state.baseline.set(action.path, agreed(local, remote.etag, racyRead(local, readFrom, Date.now())));
        break;
      }
      case 'forget':
        state.baseline.delete(action.path);
        break;
      case 'keep-both':
        refuseUnsafeCopyName(action.conflictPath);
        await this.keepBoth(action, state, result, signal);
        break;
      case 'keep-both-up': {
        refuseUnsafeCopyName(action.conflictPath);
        const written = await this.upload(action.path, action.conflictPath, null, signal);
        if (!written) throw new ChangedWhileReadError(action.path);
        // Not marked racy: the next round must compare this entry with the remote version by its
        // ETag, which the local file never has (a hash could only tell a conflict). A write in the
        // tick of the read is the one case left to a later change of size or mtime.
        state.baseline.set(action.path, agreed(written.file, action.baseEtag));
        this.count(result, 'up', 'upload', written.bytes);
        result.changedKeys.push(this.key(action.conflictPath));
        result.fileDelta.remote++;
        break;
      }
    }
    if (options && !options.quiet && !options.onlyShowErrors) {
      logger.debug({ path: action.path, action: action.kind, reason: action.reason }, `${action.kind}: ${action.path}`);
    }
  }

  /**
   * keep-both: the loser is kept beside the winner under `conflictPath` on both sides, then the
   * winner's content replaces the loser at `path`.
   */
  private async keepBoth(
    action: Extract<Action, { kind: 'keep-both' }>,
    state: ExecutionState,
    result: MutableResult,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { bucket } = this.deps;
    const remote = mustHave(state.remote, action.path, 'remote');
    if (action.winner === 'local') {
      // Remote loser: server-side copy to the conflict key, fetch that copy locally, then upload
      // ours. An object too large for one CopyObject comes down under the conflict name and goes
      // back up as a new object instead.
      // The copy is a new file on each side as soon as it lands there, whatever fails after.
      if (remote.size <= bucket.maxCopyBytes) {
        const copied = await bucket.copy(this.key(action.path), remote.etag, this.key(action.conflictPath));
        result.fileDelta.remote++;
        const loser = await this.download(action.conflictPath, action.conflictPath, { ...remote, etag: copied.etag }, null);
        result.fileDelta.local++;
        state.baseline.set(action.conflictPath, agreed(loser, copied.etag));
      } else {
        await this.download(action.conflictPath, action.path, remote, null);
        result.fileDelta.local++;
        await this.uploadConflictCopy(action.conflictPath, state, result, signal);
      }
      result.changedKeys.push(this.key(action.conflictPath));
      const written = await this.upload(action.path, action.path, remote.etag, signal);
      if (!written) throw new ChangedWhileReadError(action.path);
      state.baseline.set(action.path, written.baseline);
      this.count(result, 'up', 'upload', written.bytes);
      result.changedKeys.push(this.key(action.path));
    } else {
      // Local loser: copy it aside locally, upload the copy as a new object, then download theirs.
      await this.deps.tree.copyLocal(action.path, action.conflictPath);
      result.fileDelta.local++;
      await this.uploadConflictCopy(action.conflictPath, state, result, signal);
      result.changedKeys.push(this.key(action.conflictPath));
      // Our version is kept now. Should the download below lose a race (the object changed again),
      // the re-plan must only bring the newer version down, not keep ours a second time.
      const mine = state.local.get(action.path);
      if (mine) state.baseline.set(action.path, agreed(mine, NO_OBJECT_ETAG));
      const entry = await this.download(action.path, action.path, remote, state.local.get(action.path) ?? null);
      state.baseline.set(action.path, agreed(entry, remote.etag));
      this.count(result, 'down', 'download', entry.size);
    }
  }

  /** keep-both: the local copy at `conflictPath` goes up as a new object (it must not exist yet). */
  private async uploadConflictCopy(
    conflictPath: string,
    state: ExecutionState,
    result: MutableResult,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const written = await this.upload(conflictPath, conflictPath, null, signal);
    if (!written) throw new ChangedWhileReadError(conflictPath);
    result.fileDelta.remote++;
    state.baseline.set(conflictPath, written.baseline);
    this.count(result, 'up', 'upload', written.bytes);
  }

  /**
   * Uploads `path` to the key of `keyPath` under the given precondition. Returns null when the
   * file changed while read, its snapshot too, and nothing was written: the bucket reads the file
   * (streamed for one PUT, part by part for multipart) and calls `verify` after reading the last
   * byte, before the object can appear (a PUT's last byte is held back until then), so a failed
   * check cuts the PUT short or aborts the upload: never a torn version.
   */
  private async upload(
    path: string,
    keyPath: string,
    expectEtag: string | null,
    signal: AbortSignal | undefined,
  ): Promise<{ baseline: BaselineEntry; file: FileStat; bytes: number } | null> {
    const { tree, logger } = this.deps;
    const written = await this.uploadFrom(await tree.openForUpload(path), path, keyPath, expectEtag, signal);
    if (written) return written;
    // A file the app keeps writing (a log appended every 100 ms) changes during every upload of
    // it, which takes seconds: a copy takes milliseconds, so one is almost always made between
    // two writes. Only now: a copy of every file would double the disk writes.
    logger.info({ path, action: 'upload' }, `upload ${path}: file changed while being read; uploading a snapshot of it`);
    let snapshot: UploadSource | null;
    try {
      snapshot = await tree.snapshotForUpload(path);
    } catch (err) {
      if (err instanceof LocalChangedError || err instanceof UnsafePathError) throw err;
      // Not a failure of the path (no room for the copy, a folder the sidecar may not write): it
      // is left as one that kept changing, with the reason.
      logger.warn({ path, err }, `upload ${path}: no snapshot could be made: ${messageOf(err)}`);
      return null;
    }
    return snapshot === null ? null : this.uploadFrom(snapshot, path, keyPath, expectEtag, signal);
  }

  /** One upload attempt from `opened` (closed here): null when it changed while read. */
  private async uploadFrom(
    opened: UploadSource,
    path: string,
    keyPath: string,
    expectEtag: string | null,
    signal: AbortSignal | undefined,
  ): Promise<{ baseline: BaselineEntry; file: FileStat; bytes: number } | null> {
    let changed = false;
    const source: PartSource = {
      readAt: (into, position) => opened.readAt(into, position),
      verify: async () => {
        if (await opened.unchanged()) return;
        changed = true;
        throw new SyncError('file changed while being read');
      },
    };
    try {
      const condition = expectEtag === null ? { ifNoneMatch: true } : { ifMatch: expectEtag };
      // A small file was read whole when opened: checked here, it goes as it is.
      if (opened.bytes !== undefined) await source.verify();
      const body = opened.bytes ?? source;
      const written = await this.deps.bucket.write(this.key(keyPath), body, opened.size, condition, await this.writeOptions(path), signal);
      return { baseline: agreed(opened, written.etag, opened.racy), file: opened, bytes: opened.size };
    } catch (err) {
      if (changed) return null;
      throw err;
    } finally {
      opened.close();
    }
  }

  /** Downloads the version `remote` of `keyPath` to `path`, atomically, refusing to clobber a local change. */
  private async download(path: string, keyPath: string, remote: RemoteEntry, expectLocal: LocalEntry | null): Promise<FileStat> {
    const read = await this.deps.bucket.read(this.key(keyPath), { ifMatch: remote.etag });
    try {
      return await this.deps.tree.writeAtomic(path, read.body, read.lastModifiedMs, expectLocal, read.size);
    } catch (err) {
      // A body refused before it was read would hold its socket until the read timeout.
      if (!Buffer.isBuffer(read.body)) read.body.destroy();
      throw err;
    }
  }

  /** Removes `folder` and the emptied folders under it, deepest first; a folder still holding anything stays. */
  private async clearEmptiedFolder(folder: string, emptied: ReadonlySet<string>): Promise<void> {
    const under = [...emptied].filter((path) => path.startsWith(`${folder}/`));
    const deepestFirst = [...under.sort((a, b) => b.split('/').length - a.split('/').length), folder];
    for (const path of deepestFirst) await this.deps.tree.removeEmptyFolder(path);
  }

  private async writeOptions(path: string): Promise<ObjectWriteOptions> {
    const { up } = this.deps;
    // An explicit --content-type wins; the guess (and mime-types' loading) is only for files without one.
    const contentType = up.contentType ?? (up.guessMimeType ? await guessContentType(posix.basename(path)) : undefined);
    return {
      acl: up.acl,
      sse: up.sse,
      sseKmsKeyId: up.sseKmsKeyId,
      storageClass: up.storageClass,
      cacheControl: up.cacheControl,
      contentType,
      contentEncoding: up.contentEncoding,
      contentDisposition: up.contentDisposition,
      contentLanguage: up.contentLanguage,
      metadata: up.metadata,
      expires: up.expires,
    };
  }

  private key(path: string): string {
    return pathToKey(this.deps.prefix, path);
  }

  private count(result: { counts: MutableCounts }, direction: 'up' | 'down', action: string, bytes: number): void {
    const { metrics } = this.deps;
    metrics.files.inc({ direction, action });
    if (bytes > 0) metrics.bytes.inc({ direction }, bytes);
    const c = result.counts;
    if (action === 'upload') c.uploaded++;
    else if (action === 'download') c.downloaded++;
    else if (action === 'delete_remote') c.deletedRemote++;
    else if (action === 'delete_local') c.deletedLocal++;
    if (direction === 'up') c.bytesUp += bytes;
    else c.bytesDown += bytes;
  }
}

/** A file was modified while it was being read for upload. */
class ChangedWhileReadError extends SyncError {
  constructor(path: string) {
    super(`upload ${path}: file changed while being read`);
  }
}

/**
 * The planner names copies a download accepts; should one slip through, refusing it before the
 * first write keeps it from leaving an object in the bucket that never comes down — one per tick.
 */
function refuseUnsafeCopyName(conflictPath: string): void {
  const unsafe = unsafePathReason(conflictPath);
  if (unsafe !== null) throw new UnsafePathError(conflictPath, unsafe);
}

/** True when the action writes to the bucket (and so needs the lock in distributed mode). */
export function writesRemote(action: Action): boolean {
  return action.kind === 'upload' || action.kind === 'delete-remote' || action.kind === 'keep-both' || action.kind === 'keep-both-up';
}

/** True when the action changes the local folder. */
export function writesLocal(action: Action): boolean {
  return action.kind === 'download' || action.kind === 'delete-local';
}

/** Actions that only update the baseline: nothing a user would see done. */
function isBookkeeping(action: Action): boolean {
  return action.kind === 'record' || action.kind === 'forget';
}

/** The direction whose aws s3 sync options govern the action's log lines; none for baseline bookkeeping. */
function directionOf(action: Action): Direction | undefined {
  if (writesRemote(action)) return 'up';
  if (writesLocal(action)) return 'down';
  return undefined;
}

function isDryRun(action: Action, up: DirectionOptions, down: DirectionOptions): boolean {
  // What the baseline records is true whatever a dry direction skipped; only a fully dry run keeps
  // its hands off it (and a dry first sync saves none).
  if (isBookkeeping(action)) return up.dryrun && down.dryrun;
  if (action.kind === 'keep-both') return up.dryrun || down.dryrun;
  return writesRemote(action) ? up.dryrun : down.dryrun;
}

/** True for EACCES/EPERM from the file system, also when wrapped as an error's cause. */
function isPermissionDenied(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'EACCES' || code === 'EPERM') return true;
  }
  return false;
}

/**
 * The baseline entry of `file` agreed on as the version `etag`. A `racy` one records RACY_CTIME,
 * so the next round hashes the file (see RACY_CTIME); an unknown ctime is left out.
 */
function agreed(file: FileStat, etag: string, racy = false): BaselineEntry {
  const entry = { size: file.size, mtimeMs: file.mtimeMs, etag };
  const ctimeMs = racy ? RACY_CTIME : file.ctimeMs;
  return ctimeMs === undefined ? entry : { ...entry, ctimeMs };
}

function mustHave<T>(map: ReadonlyMap<string, T>, path: string, side: string): T {
  const value = map.get(path);
  if (!value) throw new SyncError(`plan refers to ${path}, absent on the ${side} side (planner bug)`);
  return value;
}
