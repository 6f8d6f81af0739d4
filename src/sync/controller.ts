/** What the control API sees of the sync loop: status, and triggers that coalesce. */
import type { Direction } from './types.js';

/** Counts of one tick, by what was done. */
export interface TickCounts {
  readonly uploaded: number;
  readonly downloaded: number;
  readonly deletedLocal: number;
  readonly deletedRemote: number;
  readonly conflicts: number;
  readonly skipped: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** Transfers and deletes `--dryrun` only logged (`(dryrun) …` lines), not carried out. */
  readonly dryrun: number;
}

/** Why a tick ran. */
export type TickTrigger = 'initial' | 'timer' | 'watch' | 'http' | 'shutdown';

/** The summary of one finished tick (also the body of `POST /sync/*`). */
export interface TickSummary extends TickCounts {
  readonly id: number;
  readonly direction: Direction | 'both';
  readonly trigger: TickTrigger;
  readonly startedAt: string;
  readonly seconds: number;
  readonly outcome: 'success' | 'failure';
  /** Errors met (per-file failures and the tick's failure), short messages. */
  readonly errors: readonly string[];
}

/** Life stages of the loop. */
export type SyncState = 'starting' | 'initial-sync' | 'idle' | 'syncing' | 'failing' | 'stopping' | 'stopped';

/** A snapshot of the loop for /health and /status. */
export interface SyncStatus {
  readonly state: SyncState;
  readonly initialSyncDone: boolean;
  readonly lastSuccessAt: string | null;
  readonly consecutiveFailures: number;
  readonly maxFailures: number;
  readonly lastError: string | null;
  readonly localFiles: number;
  readonly remoteFiles: number;
  readonly recentTicks: readonly TickSummary[];
  readonly recentErrors: readonly { readonly at: string; readonly message: string }[];
}

/** Thrown by `requestSync` when the direction is disabled by --only-up / --only-down. */
export class DirectionDisabledError extends Error {
  constructor(readonly direction: Direction) {
    super(`sync ${direction} is disabled by --only-${direction === 'up' ? 'down' : 'up'}`);
    this.name = 'DirectionDisabledError';
  }
}

/** Thrown by `requestSync` once shutdown has begun, or to a waiting request the shutdown gave up on. */
export class ShuttingDownError extends Error {
  constructor(message = 'the sidecar is shutting down and takes no more sync requests') {
    super(message);
    this.name = 'ShuttingDownError';
  }
}

/** The loop as the control API uses it. */
export interface SyncController {
  status(): SyncStatus;
  /**
   * Run a tick in `direction` that starts after this call; concurrent requests coalesce (at most
   * one running and one queued per loop), every caller gets the summary of a tick that started
   * after its request. Rejects with DirectionDisabledError or ShuttingDownError.
   */
  requestSync(direction: Direction): Promise<TickSummary>;
  isDirectionEnabled(direction: Direction): boolean;
}
