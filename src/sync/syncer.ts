/**
 * The sync loop: one reconciliation at a time, fed by the poll timer, file-system events, HTTP
 * triggers and shutdown. Each tick snapshots both sides, plans against the baseline (pure),
 * executes, commits the baseline and publishes the result. Failures are counted; at
 * --max-failures consecutive failures `onFatal` is called so the process can exit for ECS.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { BaselineStore } from '../baseline.js';
import { JournaledBaseline } from '../baseline-journal.js';
import { messageOf, SyncError } from '../errors.js';
import { compileFilter } from '../filters.js';
import type { Metrics } from '../metrics.js';
import { isAtOrUnder, type SkipKind, type SkippedPath } from '../local/scan.js';
import type { LocalSnapshotSource } from '../local/snapshot.js';
import type { LocalTree } from '../local/tree.js';
import { pathToKey } from '../local/paths.js';
import { maxPathBytes, withinKeyLimit } from './key-limit.js';
import type { DistributedLock } from '../lock/types.js';
import { KNOWN_PART_SIZES } from '../remote/bucket.js';
import { remoteSnapshot } from '../remote/snapshot.js';
import type { Bucket } from '../remote/types.js';
import { QuietTicks, type TickInputs } from './quiet-tick.js';
import {
  DirectionDisabledError,
  ShuttingDownError,
  type SyncController,
  type SyncState,
  type SyncStatus,
  type TickSummary,
  type TickTrigger,
} from './controller.js';
import { deletedOnTheOtherSide, findCollisions, withoutPaths } from './collisions.js';
import { Executor, emptyCounts, emptyResult, writesRemote, type ExecutionResult, type ExecutionState } from './executor.js';
import { pathsToHash, reconcile, type HashRequest, type PlanOptions } from './plan.js';
import { TickScheduler, type TickRequest, type TickScope } from './scheduler.js';
import type { Action, BaselineEntry, Direction, LocalEntry, RemoteEntry } from './types.js';

/** Something told about remote keys a tick changed (the CloudFront invalidator). */
export interface ChangeListener {
  submit(changedKeys: readonly string[]): void;
}

/** Collaborators of the loop; all injected so tests can build one around a temp folder and moto. */
export interface SyncerDeps {
  readonly config: Config;
  readonly bucket: Bucket;
  readonly tree: LocalTree;
  readonly local: LocalSnapshotSource;
  readonly baseline: BaselineStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly lock: DistributedLock | null;
  readonly cdn: ChangeListener | null;
  readonly nodeId: string;
  /** Called once when consecutive failures reach --max-failures. */
  readonly onFatal?: (reason: string) => void;
  readonly now?: () => Date;
}

const RECENT = 20;
/** Rounds of re-planning for paths whose conditional write lost a race. */
const MAX_RACE_ROUNDS = 3;

/** The loop; implements the control API's view of it. */
export class Syncer implements SyncController {
  private readonly scheduler: TickScheduler<TickTrigger, TickSummary>;
  private readonly executor: Executor;
  private readonly now: () => Date;
  private baselineEntries: Map<string, BaselineEntry> | null = null;
  /** The inputs of the last tick of each kind that found nothing to do (see quiet-tick.ts). */
  private readonly quietTicks = new QuietTicks();
  private state: SyncState = 'starting';
  private initialSyncDone = false;
  private lastSuccessAt: string | null = null;
  /**
   * Consecutive failed ticks per direction: a tick counts toward each direction it covered, and a
   * successful one clears those. An upload that succeeds says nothing of downloads that keep failing.
   */
  private readonly failures: Record<Direction, number> = { up: 0, down: 0 };
  private lastError: string | null = null;
  private localCount = 0;
  private remoteCount = 0;
  private tickId = 0;
  private readonly recentTicks: TickSummary[] = [];
  private readonly recentErrors: { at: string; message: string }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private watchDebounce: NodeJS.Timeout | null = null;
  private stopping = false;
  /** The paths the last tick could not upload because they kept changing while read. */
  private keptChanging: readonly string[] = [];
  private fatalCalled = false;
  /**
   * Aborted when the shutdown runs out of --shutdown-timeout (the final up-sync, or a tick still
   * running before it): remote writes not yet started are not started, and a multipart upload has
   * its parts in flight cut off and is aborted (else its parts stay in the bucket, billed, with no
   * object).
   */
  private readonly remoteWritesStop = new AbortController();
  /**
   * After stop(): true when a final up-sync was due and did not get everything up (it failed, was
   * cut off by --shutdown-timeout, files kept changing, or no sync had ever got through to make one
   * safe); the last log line says so.
   */
  finalSyncIncomplete = false;
  /** Resolved once the initial sync is queued (or the loop stops before it is). */
  private readonly initialQueued = signalled();
  private readonly upFilter: (path: string) => boolean;
  private readonly downFilter: (path: string) => boolean;

  constructor(private readonly deps: SyncerDeps) {
    this.now = deps.now ?? (() => new Date());
    const { config } = deps;
    this.upFilter = compileFilter(config.up.filters);
    this.downFilter = compileFilter(config.down.filters);
    this.executor = new Executor({
      bucket: deps.bucket,
      tree: deps.tree,
      prefix: config.prefix,
      up: config.up,
      down: config.down,
      concurrency: config.concurrency,
      metrics: deps.metrics,
      logger: deps.logger,
    });
    this.scheduler = new TickScheduler((request) => this.runTick(request));
  }

  /** Loads the baseline and cleans crash leftovers; call once before the first tick. */
  async prepare(): Promise<void> {
    const removed = await this.deps.tree.cleanLeftovers();
    if (removed > 0) this.deps.logger.warn({ removed }, 'removed temporary files left by an earlier run');
    const store = this.deps.baseline;
    const loaded = await store.loadWithReason();
    this.baselineEntries = loaded.entries;
    const { logger } = this.deps;
    if (loaded.reason === null && loaded.journalNote) logger.warn({ journal: store.journal.file }, loaded.journalNote);
    if (loaded.reason === null && loaded.replayed > 0) {
      // The last run was killed in a tick: what it finished is saved whole now, its journal emptied.
      logger.warn({ replayed: loaded.replayed }, 'the last run stopped in the middle of a tick: its finished changes were replayed from the journal');
      // Not saved now (a full disk), the journal stays and is replayed again: nothing is lost.
      await store.save(loaded.entries).catch((err: unknown) => logger.warn({ err }, `saving the replayed baseline: ${messageOf(err)}`));
    } else if (loaded.reason !== null) {
      store.journal.discard();
    }
    logger.info(
      { baseline: this.baselineEntries ? this.baselineEntries.size : null },
      this.baselineEntries ? 'resuming from the saved baseline' : `no baseline yet: first sync mode ${this.deps.config.initMode}`,
    );
  }

  /** Runs the initial sync (the whole scope). Resolves with its summary, success or not. */
  async initialSync(): Promise<TickSummary> {
    this.state = 'initial-sync';
    const tick = this.scheduler.request({ scope: this.defaultScope(), trigger: 'initial', fullScan: true });
    this.initialQueued.fire();
    return tick;
  }

  /** Starts the poll timer and the file watcher. */
  startLoop(): void {
    const { config } = this.deps;
    // Started without an initial sync (an embedder's choice): requests must not wait for one.
    this.initialQueued.fire();
    if (!config.onlyDown) {
      this.deps.local.watch(
        () => this.onLocalChange(),
        (err) => this.deps.logger.warn({ err }, `file watcher: ${err.message}`),
      );
    }
    this.scheduleTimer();
  }

  /**
   * The control API's trigger: a tick in one direction, coalesced with others. One asked for
   * during start-up waits for the initial sync to be queued and runs after it: run first, it would
   * plan before the baseline is loaded and let /health pass before the initial sync.
   */
  async requestSync(direction: Direction): Promise<TickSummary> {
    if (!this.isDirectionEnabled(direction)) throw new DirectionDisabledError(direction);
    return this.requestAfterStart({ scope: direction, trigger: 'http', fullScan: true });
  }

  /**
   * A full tick now, as the poll timer runs one but with a full local rescan: `scope` defaults to
   * both directions (or the one --only-* allows). Coalesces with other requests like `requestSync`.
   */
  async syncNow(scope: TickScope = this.defaultScope()): Promise<TickSummary> {
    if (scope !== 'both' && !this.isDirectionEnabled(scope)) throw new DirectionDisabledError(scope);
    return this.requestAfterStart({ scope, trigger: 'timer', fullScan: true });
  }

  private async requestAfterStart(request: TickRequest<TickTrigger>): Promise<TickSummary> {
    if (this.stopping) throw new ShuttingDownError();
    await this.initialQueued.fired;
    if (this.stopping) throw new ShuttingDownError();
    return this.scheduler.request(request);
  }

  isDirectionEnabled(direction: Direction): boolean {
    const { onlyUp, onlyDown } = this.deps.config;
    return direction === 'up' ? !onlyDown : !onlyUp;
  }

  status(): SyncStatus {
    return {
      state: this.state,
      initialSyncDone: this.initialSyncDone,
      lastSuccessAt: this.lastSuccessAt,
      consecutiveFailures: this.consecutiveFailures(),
      maxFailures: this.deps.config.maxFailures,
      lastError: this.lastError,
      localFiles: this.localCount,
      remoteFiles: this.remoteCount,
      recentTicks: [...this.recentTicks],
      recentErrors: [...this.recentErrors],
    };
  }

  /**
   * Shutdown: no more triggers, the running tick finishes, one final up-sync (again, after a short
   * pause, while files keep changing as they are read); all bounded by --shutdown-timeout.
   * Resolves with the last final round's summary (null when none ran or it timed out).
   */
  async stop(options: { finalSync?: boolean } = {}): Promise<TickSummary | null> {
    if (this.stopping) return null;
    this.stopping = true;
    // Requests waiting for a start that will not come now learn of the shutdown.
    this.initialQueued.fire();
    this.state = 'stopping';
    if (this.timer) clearTimeout(this.timer);
    if (this.watchDebounce) clearTimeout(this.watchDebounce);
    const { config, logger } = this.deps;
    const deadline = Date.now() + config.shutdownTimeoutSeconds * 1000;
    let timedOut = false;
    const upSyncDue = options.finalSync !== false && !config.onlyDown;
    const work = (async () => {
      await this.scheduler.drain();
      await this.deps.local.close();
      if (!upSyncDue || timedOut) return null;
      // Whatever failed before, once there is a baseline an up-sync is three-way and safe; without
      // one (no sync ever got through) it would be a first sync with nobody to settle it.
      if (this.baselineEntries === null) {
        this.finalSyncIncomplete = true;
        return null;
      }
      let summary = await this.runTick({ scope: 'up', trigger: 'shutdown', fullScan: true });
      // A file the app is still writing (it may be stopped later, or flush for a while) goes with
      // the task unless it goes up now: while time is left, the final sync is tried again — only
      // when another round as long as the last one still fits (one cut short by the deadline
      // leaves a multipart upload behind and says less than this).
      while (this.keptChanging.length > 0 && !timedOut) {
        if (Date.now() + FINAL_RETRY_PAUSE_MS + summary.seconds * 1000 >= deadline) {
          logger.error({ paths: this.keptChanging }, `shutting down: ${this.keptChanging.length} file(s) kept changing and were not uploaded; their last changes are lost with the task`);
          break;
        }
        logger.warn({ paths: this.keptChanging }, `final sync: ${this.keptChanging.length} file(s) kept changing while read; trying again`);
        await sleep(FINAL_RETRY_PAUSE_MS);
        if (timedOut) break;
        summary = await this.runTick({ scope: 'up', trigger: 'shutdown', fullScan: true });
      }
      if (summary.outcome === 'failure' || this.keptChanging.length > 0) this.finalSyncIncomplete = true;
      return summary;
    })();
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(() => {
        timedOut = true;
        resolve('timeout');
      }, Math.max(0, deadline - Date.now())).unref(),
    );
    const outcome = await Promise.race([work, timeout]);
    this.state = 'stopped';
    if (outcome === 'timeout') {
      if (upSyncDue) this.finalSyncIncomplete = true;
      logger.error({ seconds: config.shutdownTimeoutSeconds }, 'final sync did not finish within --shutdown-timeout');
      this.remoteWritesStop.abort(new SyncError('shutting down: --shutdown-timeout reached, remote writes stopped'));
      // A moment for the uploads cut off to send the abort of their multipart uploads.
      await Promise.race([work, sleep(ABORT_GRACE_MS, undefined, { ref: false })]);
      // What the cut-off tick finished is on disk or in the bucket: its journal lines must be too.
      this.deps.baseline.journal.flush();
      // A /sync request waiting for the tick still running would hold the server (and the exit) open.
      this.scheduler.abandon(new ShuttingDownError('the sidecar shut down (--shutdown-timeout) before the tick finished'));
      return null;
    }
    return outcome;
  }

  private defaultScope(): TickScope {
    const { onlyUp, onlyDown } = this.deps.config;
    return onlyUp ? 'up' : onlyDown ? 'down' : 'both';
  }

  private scheduleTimer(): void {
    const { pollSeconds } = this.deps.config;
    if (this.stopping || pollSeconds <= 0) return;
    this.timer = setTimeout(() => {
      this.scheduler
        .request({ scope: this.defaultScope(), trigger: 'timer', fullScan: false })
        .catch(() => undefined)
        .finally(() => this.scheduleTimer());
    }, pollSeconds * 1000);
  }

  /** File events start an early up tick, debounced so a burst of writes costs one tick. */
  private onLocalChange(): void {
    if (this.stopping || this.baselineEntries === null) return;
    if (this.watchDebounce) clearTimeout(this.watchDebounce);
    this.watchDebounce = setTimeout(() => {
      this.watchDebounce = null;
      if (this.stopping) return;
      this.scheduler.request({ scope: 'up', trigger: 'watch', fullScan: false }).catch(() => undefined);
    }, WATCH_DEBOUNCE_MS);
  }

  /** One reconciliation; never throws (a failure is a summary with outcome 'failure'). */
  private async runTick(request: TickRequest<TickTrigger>): Promise<TickSummary> {
    const id = ++this.tickId;
    const startedAt = this.now();
    const started = performance.now();
    const { logger, metrics } = this.deps;
    if (!this.stopping && this.initialSyncDone) this.state = 'syncing';
    let result: ExecutionResult | null = null;
    let failure: string | null = null;
    let stoppedBy: string | null = null;
    let lockStarved = false;
    this.keptChanging = [];
    try {
      result = await this.reconcileOnce(request.scope, request.fullScan, request.trigger === 'shutdown');
      this.keptChanging = result.keptChanging;
      if (result.errors.length > 0) failure = `${result.errors.length} path(s) failed; first: ${result.errors[0]}`;
    } catch (err) {
      // What a tick did before it stopped is reported with it (its downloads are on disk).
      const reason = err instanceof TickStoppedError ? err.reason : err;
      if (err instanceof TickStoppedError) result = err.done;
      failure = stoppedBy = messageOf(reason);
      lockStarved = reason instanceof Error && reason.name === 'LockWaitTimeoutError';
    }
    const seconds = (performance.now() - started) / 1000;
    const summary: TickSummary = {
      id,
      direction: request.scope,
      trigger: request.trigger,
      startedAt: startedAt.toISOString(),
      seconds,
      outcome: failure ? 'failure' : 'success',
      errors: [...(result?.errors ?? []), ...(stoppedBy !== null ? [stoppedBy] : [])],
      ...(result?.counts ?? emptyCounts()),
    };
    metrics.tickDuration.observe({ direction: request.scope, outcome: summary.outcome }, seconds);
    this.remember(summary);
    if (failure) this.onFailure(summary, failure, lockStarved);
    else this.onSuccess(summary);
    return summary;
  }

  private onSuccess(summary: TickSummary): void {
    const { logger, metrics } = this.deps;
    // A tick in one direction says nothing of the other (downloads may still fail every time):
    // only one covering every enabled direction clears the failures and completes the initial sync.
    for (const direction of directionsOf(summary.direction)) this.failures[direction] = 0;
    metrics.consecutiveFailures.set(this.consecutiveFailures());
    if (summary.direction === 'both' || summary.direction === this.defaultScope()) {
      this.lastSuccessAt = summary.startedAt;
      this.initialSyncDone = true;
      metrics.lastSuccess.set(Date.parse(summary.startedAt) / 1000);
    }
    if (!this.stopping) this.state = !this.initialSyncDone ? 'initial-sync' : this.consecutiveFailures() > 0 ? 'failing' : 'idle';
    const changed =
      summary.uploaded + summary.downloaded + summary.deletedLocal + summary.deletedRemote + summary.conflicts + summary.dryrun;
    if (changed > 0 || summary.trigger === 'initial' || summary.trigger === 'shutdown') {
      logger.info({ tick: summary }, `sync ${summary.direction} (${summary.trigger}): ${describe(summary)}`);
    }
  }

  /**
   * A tick that only waited too long for another node's lock is failed but not counted toward
   * --max-failures: exiting would throw away this task's unsynced local changes with its volume,
   * while the holder (e.g. an application's maintenance hold) may be right to hold on.
   */
  private onFailure(summary: TickSummary, message: string, lockStarved = false): void {
    const { logger, metrics, config } = this.deps;
    if (!lockStarved) for (const direction of directionsOf(summary.direction)) this.failures[direction]++;
    const consecutive = this.consecutiveFailures();
    this.lastError = message;
    metrics.failures.inc();
    metrics.consecutiveFailures.set(consecutive);
    if (!this.stopping) this.state = this.initialSyncDone ? 'failing' : 'initial-sync';
    logger.error(
      { tick: summary, consecutiveFailures: consecutive, maxFailures: config.maxFailures },
      `sync ${summary.direction} (${summary.trigger}) failed: ${message}`,
    );
    if (config.maxFailures > 0 && consecutive >= config.maxFailures && !this.fatalCalled && !this.stopping) {
      this.fatalCalled = true;
      this.deps.onFatal?.(`${consecutive} consecutive failed syncs (--max-failures ${config.maxFailures}); last: ${message}`);
    }
  }

  /** The longest run of failures in one direction: what /health and --max-failures go by. */
  private consecutiveFailures(): number {
    return Math.max(this.failures.up, this.failures.down);
  }

  private remember(summary: TickSummary): void {
    this.recentTicks.push(summary);
    if (this.recentTicks.length > RECENT) this.recentTicks.shift();
    for (const message of summary.errors) {
      this.recentErrors.push({ at: summary.startedAt, message });
      if (this.recentErrors.length > RECENT) this.recentErrors.shift();
    }
  }

  /** Snapshot, plan, execute, commit — for one scope. */
  private async reconcileOnce(scope: TickScope, fullScan: boolean, final = false): Promise<ExecutionResult> {
    const { config, metrics, logger } = this.deps;
    // The listing is on its way while the folder is scanned: a tick waits for the longer of the
    // two, not their sum. Which comes first does not matter to the plan: every write it leads to
    // is conditional on what the snapshots saw.
    const listing = new AbortController();
    const listed = this.deps.bucket.list(config.prefix, listing.signal);
    // Awaited below; until then a failed listing must not count as an unhandled rejection.
    listed.catch(() => undefined);
    // A failed scan fails the tick: the rest of a long listing would be requests for nothing.
    const scanned = await this.deps.local.snapshot(fullScan).catch((err: unknown) => {
      listing.abort();
      throw err;
    });
    const localScan = withinKeyLimit(scanned, maxPathBytes(config.prefix));
    if (localScan.scanned) this.reportLocalSkips(localScan.skipped);
    const remoteScan = remoteSnapshot(await listed, config.prefix);
    for (const skip of remoteScan.skipped) {
      metrics.skippedKeys.inc({ reason: skip.reason });
      if (skip.reason !== 'folder-marker') logger.warn({ key: skip.key, reason: skip.reason, detail: skip.detail }, 'remote key skipped');
    }
    const inputs: TickInputs = { scope, final, local: localScan.entries, remote: remoteScan, baseline: this.baselineEntries };
    if (this.quietTicks.repeats(inputs)) {
      logger.debug('listing, folder and baseline as the last quiet tick saw them: nothing to plan');
      this.trackFiles(localScan.entries.size, remoteScan.entries.size);
      return emptyResult();
    }
    // A folder the scan could not read (or left out) hides what is under it: those paths are
    // unknown, not deleted, so they stay out of this plan and keep their baseline.
    // Likewise a file that could not be stat-ed, or whose key S3 would refuse: absent from the
    // scan, but not deleted.
    const unknownPaths = localScan.skipped
      .filter((s) => s.folder || s.kind === 'unreadable' || s.kind === 'key-too-long')
      .map((s) => s.path);
    const options = { ...this.planOptions(scope, unknownPaths), keepBothUpHalf: final };
    const hidden = new Set(remoteScan.skipped.flatMap((s) => (s.reason === 'collision' && s.path ? [s.path] : [])));
    // Touched files are hashed first: unhashed, one would count as changed, so as staying where the
    // other side replaced it by a folder, and the new folder would be held.
    const hashRequests = pathsToHash({ local: localScan.entries, remote: remoteScan.entries, baseline: this.baselineEntries, options });
    const hashStartedMs = new Map<string, number>();
    const { touchedEtags } = await this.hashLocal(
      hashRequests.filter((request) => request.against === 'baseline'),
      hashStartedMs,
    );
    const going = deletedOnTheOtherSide(localScan.entries, remoteScan.entries, hidden, this.baselineEntries, options, touchedEtags);
    const held = this.collisions(localScan.entries, remoteScan.entries, hidden, going);

    const firstSync = this.baselineEntries === null;
    // Journaled as the actions finish; null when the tick keeps no baseline (see keepsBaseline).
    const kept = this.keepsBaseline(firstSync) ? new JournaledBaseline(this.baselineEntries ?? [], this.deps.baseline.journal) : null;
    // Colliding paths are left out of the plan; their baseline entries are kept for later.
    const working: ExecutionState = {
      local: withoutPaths(localScan.entries, held),
      remote: withoutPaths(remoteScan.entries, held),
      baseline: kept ?? new Map(this.baselineEntries ?? []),
      emptiedFolders: new Set([...going.local].flatMap(folders)),
      localStatsFromMs: localScan.statsFromMs,
      hashStartedMs,
    };
    let total: ExecutionResult;
    let planned: boolean;
    try {
      // The first round's comparisons with the remote are the ones asked for above, minus held paths.
      const firstRound = { touchedEtags, requests: hashRequests.filter((r) => r.against === 'remote' && !held.has(r.path)) };
      ({ total, planned } = await this.planAndExecute(working, firstSync ? null : withoutPaths(working.baseline, held), options, firstRound));
    } catch (err) {
      // The tick failed part-way (its remote writes waited too long for the lock): what it already
      // did locally is true on disk and must be in the baseline, or a file it downloaded would look
      // added next tick (and be uploaded back after another node deleted it).
      await this.commitBaseline(kept).catch((saveErr: unknown) =>
        logger.error({ err: saveErr }, `saving the baseline after a failed tick: ${messageOf(saveErr)}`),
      );
      this.deps.local.invalidate();
      throw err;
    }
    // As the sides are after this tick: what the scans saw, plus what the tick created or deleted.
    this.trackFiles(localScan.entries.size + total.fileDelta.local, remoteScan.entries.size + total.fileDelta.remote);

    // Files this tick wrote or deleted (a keep-both copy included) must not be missing from a
    // reused scan: a missed watcher event would make a new copy look deleted. Before the save,
    // which may fail.
    if (total.counts.downloaded + total.counts.deletedLocal > 0 || total.fileDelta.local !== 0) this.deps.local.invalidate();
    await this.commitBaseline(kept);
    // Unknown paths are not among the inputs compared: a folder unreadable now may hold deletes
    // once readable again, under the same entries. (Remote skips are in the remote scan compared.)
    const nothing =
      !planned && hashRequests.length === 0 && held.size === 0 && going.local.size === 0 && going.remote.size === 0 &&
      unknownPaths.length === 0 && total.errors.length === 0;
    // The baseline as committed: a tick that changed it has planned something.
    this.quietTicks.record({ ...inputs, baseline: this.baselineEntries }, nothing);
    return total;
  }

  /**
   * Whether a tick's baseline is kept: not for a first sync that only pretended (--dryrun in both
   * directions), so the next real run still uses the init mode.
   */
  private keepsBaseline(firstSync: boolean): boolean {
    const { up, down } = this.deps.config;
    return !(firstSync && up.dryrun && down.dryrun);
  }

  /**
   * Keeps and saves the baseline a tick ended with (see keepsBaseline). One with failed paths keeps what
   * succeeded: a path that failed has no entry and is seen as added on whichever side has it (never
   * deleted), while staying in first-sync mode would undo other nodes' deletes of paths this one
   * already synced. So does one with a single dry direction: staying in first-sync mode,
   * `--init-sync-down --delete` would delete every file the app creates, tick after tick.
   */
  private async commitBaseline(baseline: JournaledBaseline | null): Promise<void> {
    if (baseline === null) return;
    // A quiet tick leaves the baseline as it was: no need to rewrite (and fsync) it. A first
    // sync is saved even when it found nothing, so the next start is three-way.
    const unchanged = this.baselineEntries !== null && !baseline.changed;
    // An unchanged baseline stays the same object: a quiet tick is told by it (quiet-tick.ts).
    if (unchanged) return;
    this.baselineEntries = baseline;
    // (A save that failed leaves its changes in the journal, replayed at the next start.)
    await this.deps.baseline.save(baseline);
  }

  /**
   * Paths caught in a file/folder collision across the sides (or within the bucket), warned about
   * and counted; the remote snapshot already reported the ones it hid.
   */
  private collisions(
    local: ReadonlyMap<string, LocalEntry>,
    remote: ReadonlyMap<string, RemoteEntry>,
    hidden: ReadonlySet<string>,
    going: { readonly local: ReadonlySet<string>; readonly remote: ReadonlySet<string> },
  ): Set<string> {
    const { logger, metrics } = this.deps;
    const staying = [...remote.keys()].filter((path) => !going.remote.has(path));
    // A key the bucket hides behind a folder of the same name is neither there nor gone: left alone.
    const held = new Set<string>(hidden);
    for (const { path, detail } of findCollisions(withoutPaths(local, going.local), [...staying, ...hidden])) {
      held.add(path);
      if (hidden.has(path)) continue;
      metrics.skippedKeys.inc({ reason: 'collision' });
      logger.warn({ path, detail }, `path skipped: file/folder collision (${detail})`);
    }
    return held;
  }

  /** The tracked-files gauges and counts: each side's files as a tick left them. */
  private trackFiles(local: number, remote: number): void {
    this.localCount = local;
    this.remoteCount = remote;
    this.deps.metrics.trackedFiles.set({ side: 'local' }, local);
    this.deps.metrics.trackedFiles.set({ side: 'remote' }, remote);
  }

  /**
   * Plans and executes, re-planning paths that lost a conditional-write race. `planned`: whether
   * any plan had an action or anything to report.
   */
  private async planAndExecute(
    state: ExecutionState,
    baselineForPlan: ReadonlyMap<string, BaselineEntry> | null,
    options: PlanOptions,
    firstRound: { readonly touchedEtags: ReadonlyMap<string, string>; readonly requests: readonly HashRequest[] },
  ): Promise<{ total: ExecutionResult; planned: boolean }> {
    let local: ReadonlyMap<string, LocalEntry> = state.local;
    let remote: ReadonlyMap<string, RemoteEntry> = state.remote;
    let total: ExecutionResult = emptyResult();
    let planned = false;
    // A re-plan sees only the raced paths, so it would take the keep-both copy names of an earlier
    // round (same second, same node) for free: reusing one overwrites a kept version or loops on 412.
    const reservedPaths = new Set([...state.local.keys(), ...state.remote.keys(), ...state.baseline.keys()]);
    for (let round = 0; round < MAX_RACE_ROUNDS; round++) {
      const input = { local, remote, baseline: baselineForPlan };
      // The first round's hash requests were made with the scans (touched files hashed already);
      // a re-plan hashes its raced paths again.
      const hashes = await this.hashLocal(round === 0 ? firstRound.requests : pathsToHash({ ...input, options }), state.hashStartedMs);
      if (round === 0) for (const [path, etag] of firstRound.touchedEtags) hashes.touchedEtags.set(path, etag);
      // The guard weighs deletes against whole sides, also when re-planning a few raced paths.
      const sideTotals = { local: state.local.size, remote: state.remote.size };
      const plan = reconcile({ ...input, ...hashes, options, sideTotals, reservedPaths });
      planned ||= plan.actions.length > 0 || plan.noCopyName.length > 0 || plan.deleteGuard.local.refused || plan.deleteGuard.remote.refused;
      for (const action of plan.actions) if ('conflictPath' in action) reservedPaths.add(action.conflictPath);
      this.reportGuard(plan.deleteGuard);
      this.reportNoCopyName(plan.noCopyName);
      this.deps.metrics.conflicts.inc({ policy: this.deps.config.conflict }, plan.conflicts);
      const result = await this.executePlan(plan.actions, { ...state, local, remote }).catch(
        (err: unknown) => {
          throw err instanceof TickStoppedError ? new TickStoppedError(mergeResults(total, err.done, plan.conflicts), err.reason) : err;
        },
      );
      total = mergeResults(total, result, plan.conflicts);
      if (result.raced.length === 0) break;
      // Re-plan only the raced paths, against fresh facts from both sides. The baseline given to
      // the planner is cut to those paths too: any other path would look deleted on both sides.
      ({ local, remote } = await this.refresh(result.raced));
      baselineForPlan = onlyPaths(state.baseline, result.raced);
      if (round === MAX_RACE_ROUNDS - 1) {
        total.errors.push(`${result.raced.length} path(s) kept changing under concurrent writers; retried next tick`);
      }
    }
    if (total.changedKeys.length > 0) this.deps.cdn?.submit(total.changedKeys);
    return { total, planned };
  }

  /** Local writes first without the lock; remote writes under the lock in distributed mode. */
  private async executePlan(actions: readonly Action[], state: ExecutionState): Promise<ExecutionResult> {
    const remoteWrites = actions.filter(writesRemote);
    // Local deletes first: a file the other side replaced by a folder must be gone before the
    // folder's files come down into it.
    const localDeletes = actions.filter((a) => a.kind === 'delete-local');
    const others = actions.filter((a) => !writesRemote(a) && a.kind !== 'delete-local');
    const deleted = await this.executor.execute(localDeletes, state);
    const first = mergeResults(deleted, await this.executor.execute(others, state), 0);
    if (remoteWrites.length === 0) return first;
    const { lock } = this.deps;
    const stopped = this.remoteWritesStop.signal;
    try {
      const second = lock
        ? await lock.withLock((signal) => this.executor.execute(remoteWrites, state, AbortSignal.any([signal, stopped])))
        : await this.executor.execute(remoteWrites, state, stopped);
      return mergeResults(first, second, 0);
    } catch (err) {
      throw new TickStoppedError(first, err);
    }
  }

  private async refresh(paths: readonly string[]): Promise<{ local: Map<string, LocalEntry>; remote: Map<string, RemoteEntry> }> {
    const local = new Map<string, LocalEntry>();
    const remote = new Map<string, RemoteEntry>();
    const limit = pLimit(this.deps.config.concurrency);
    await Promise.all(
      paths.map((path) =>
        limit(async () => {
          const [l, r] = await Promise.all([
            this.deps.tree.stat(path),
            this.deps.bucket.head(pathToKey(this.deps.config.prefix, path)),
          ]);
          if (l) local.set(path, l);
          if (r) remote.set(path, { size: r.size, etag: r.etag, lastModifiedMs: r.lastModifiedMs });
        }),
      ),
    );
    return { local, remote };
  }

  /**
   * S3-style ETags of local files, each hashed the ways the ETag it is compared with (the remote
   * object's, or the baseline's for a touched file) says it may have been uploaded (one PUT, or
   * parts of a size other tools use), so a file equal to an object another tool uploaded matches.
   * `startedMs` gets when each path's read began (a record of it is racy from then on).
   */
  private async hashLocal(
    requests: readonly HashRequest[],
    startedMs: Map<string, number>,
  ): Promise<{ localEtags: Map<string, string>; touchedEtags: Map<string, string> }> {
    const localEtags = new Map<string, string>();
    const touchedEtags = new Map<string, string>();
    const limit = pLimit(Math.min(4, this.deps.config.concurrency));
    await Promise.all(
      requests.map(({ path, against, etag, size }) =>
        limit(async () => {
          try {
            startedMs.set(path, Date.now());
            const hashed = await this.deps.tree.etagInLayoutOf(path, etag, size, KNOWN_PART_SIZES);
            // No layout we know (an SSE-KMS ETag): left unhashed, the planner treats it as a difference.
            if (hashed !== undefined) (against === 'remote' ? localEtags : touchedEtags).set(path, hashed);
          } catch {
            // Vanished or unreadable since the scan: the planner treats it as a difference.
          }
        }),
      ),
    );
    return { localEtags, touchedEtags };
  }

  /** Unreadable or unsafe local names deserve a warning; deliberate skips only a debug line. */
  private reportLocalSkips(skipped: readonly SkippedPath[]): void {
    const { logger, metrics } = this.deps;
    for (const skip of skipped) {
      const counted = WARNED_SKIPS[skip.kind];
      if (counted !== null) {
        metrics.skippedKeys.inc({ reason: counted });
        logger.warn({ path: skip.path, reason: skip.reason }, 'local path skipped');
      } else {
        logger.debug({ path: skip.path, reason: skip.reason }, 'local path skipped');
      }
    }
  }

  /** Such a conflict stays unsettled until someone shortens the path: say so each tick, not once. */
  private reportNoCopyName(paths: readonly string[]): void {
    const { logger, metrics } = this.deps;
    for (const path of paths) {
      metrics.skippedKeys.inc({ reason: 'conflict-name-too-long' });
      logger.warn({ path }, 'keep-both conflict left as it is: no copy name fits beside the path (path too long); both versions stay where they are');
    }
  }

  private reportGuard(guard: ReturnType<typeof reconcile>['deleteGuard']): void {
    const { logger, metrics, config } = this.deps;
    for (const side of ['local', 'remote'] as const) {
      const g = guard[side];
      if (!g.refused) continue;
      metrics.deleteGuardTrips.inc({ side });
      logger.error(
        { side, wouldDelete: g.wouldDelete, of: g.of, maxDeletePercent: config.maxDeletePercent },
        `refused to delete ${g.wouldDelete} of ${g.of} ${side} files: over --max-delete ${config.maxDeletePercent}%`,
      );
    }
  }

  /** `unknownPaths`: files and folders the scan could not see into; the plan leaves them (and what is under them) alone. */
  private planOptions(scope: TickScope, unknownPaths: readonly string[] = []): PlanOptions {
    const { config, nodeId } = this.deps;
    const unknown = new Set(unknownPaths);
    const known = (path: string) => !isAtOrUnder(path, unknown);
    const upInclude = unknown.size === 0 ? this.upFilter : (path: string) => known(path) && this.upFilter(path);
    const downInclude = unknown.size === 0 ? this.downFilter : (path: string) => known(path) && this.downFilter(path);
    return {
      up: {
        enabled: scope !== 'down' && !config.onlyDown,
        delete: config.up.delete,
        include: upInclude,
        sizeOnly: config.up.sizeOnly,
      },
      down: {
        enabled: scope !== 'up' && !config.onlyUp,
        delete: config.down.delete,
        include: downInclude,
        sizeOnly: config.down.sizeOnly,
      },
      conflict: config.conflict,
      initMode: config.initMode,
      maxDeletePercent: config.maxDeletePercent,
      nodeId,
      now: this.now(),
      maxPathBytes: maxPathBytes(config.prefix),
    };
  }

}

/** The metric reason of a local skip worth a warning; null for deliberate ones (excluded paths, say). */
const WARNED_SKIPS: Readonly<Record<SkipKind, string | null>> = {
  unreadable: 'local-unsafe-or-unreadable',
  'unsafe-name': 'local-unsafe-or-unreadable',
  'key-too-long': 'key-too-long',
  deliberate: null,
};

const WATCH_DEBOUNCE_MS = 300;

/** After --shutdown-timeout, how long the uploads cut off get to abort their multipart uploads. */
const ABORT_GRACE_MS = 2000;

/** Pause between final-sync rounds while files keep changing: a few of the app's writes. */
const FINAL_RETRY_PAUSE_MS = 250;

/** The folders `path` is in: `a/b/c` → `a`, `a/b`. */
function folders(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** The entries of `baseline` for `paths`. */
function onlyPaths(baseline: ReadonlyMap<string, BaselineEntry>, paths: readonly string[]): Map<string, BaselineEntry> {
  const out = new Map<string, BaselineEntry>();
  for (const path of paths) {
    const entry = baseline.get(path);
    if (entry) out.set(path, entry);
  }
  return out;
}

/** A tick that stopped part-way (its remote writes never got the lock): what it did, and why it stopped. */
class TickStoppedError extends Error {
  constructor(
    readonly done: ExecutionResult,
    readonly reason: unknown,
  ) {
    super(messageOf(reason), { cause: reason });
    this.name = 'TickStoppedError';
  }
}

function mergeResults(a: ExecutionResult, b: ExecutionResult, conflicts: number): ExecutionResult {
  const counts = emptyCounts();
  for (const key of Object.keys(counts) as (keyof typeof counts)[]) counts[key] = a.counts[key] + b.counts[key];
  counts.conflicts += conflicts;
  return {
    counts,
    errors: [...a.errors, ...b.errors],
    raced: [...a.raced, ...b.raced],
    keptChanging: [...a.keptChanging, ...b.keptChanging],
    changedKeys: [...a.changedKeys, ...b.changedKeys],
    fileDelta: { local: a.fileDelta.local + b.fileDelta.local, remote: a.fileDelta.remote + b.fileDelta.remote },
  };
}

function describe(s: TickSummary): string {
  return (
    `${s.uploaded} up (${s.bytesUp} B), ${s.downloaded} down (${s.bytesDown} B), ` +
    `${s.deletedRemote} deleted remote, ${s.deletedLocal} deleted local, ${s.conflicts} conflicts, ` +
    `${s.skipped} skipped${s.dryrun > 0 ? `, ${s.dryrun} only logged (--dryrun)` : ''} in ${s.seconds.toFixed(2)} s`
  );
}

/** A one-time signal: `fired` resolves once `fire` is called. */
function signalled(): { readonly fired: Promise<void>; fire(): void } {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => (fire = resolve));
  return { fired, fire };
}

/** The directions a tick of `scope` covers. */
function directionsOf(scope: TickScope): readonly Direction[] {
  return scope === 'both' ? ['up', 'down'] : [scope];
}
