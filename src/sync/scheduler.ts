/**
 * Serialises ticks and coalesces requests: at most one tick runs and one waits. A request that
 * arrives while a tick runs joins the waiting tick (widening its direction), so every requester
 * gets the result of a tick that started after its request.
 */
import type { Direction } from './types.js';

/** The direction a tick covers. */
export type TickScope = Direction | 'both';

/** Extra facts about why a tick was asked for (merged when requests coalesce). */
export interface TickRequest<Trigger extends string> {
  readonly scope: TickScope;
  readonly trigger: Trigger;
  /** The local side must be rescanned in full (a watcher-fed snapshot is not enough). */
  readonly fullScan: boolean;
}

interface Pending<Trigger extends string, Result> {
  request: TickRequest<Trigger>;
  resolvers: { resolve: (r: Result) => void; reject: (e: unknown) => void }[];
}

/** Widens two scopes: up + down = both. */
export function widenScope(a: TickScope, b: TickScope): TickScope {
  return a === b ? a : 'both';
}

/** Runs one tick at a time; `run` performs the tick for a (merged) request. */
export class TickScheduler<Trigger extends string, Result> {
  private running: Promise<void> | null = null;
  private current: Pending<Trigger, Result> | null = null;
  private pending: Pending<Trigger, Result> | null = null;
  private closed = false;

  constructor(private readonly run: (request: TickRequest<Trigger>) => Promise<Result>) {}

  /** Queues a tick (or joins the queued one) and resolves with its result. */
  request(request: TickRequest<Trigger>): Promise<Result> {
    if (this.closed) return Promise.reject(new Error('tick scheduler is closed'));
    return new Promise<Result>((resolve, reject) => {
      if (this.pending) {
        const merged = this.pending.request;
        this.pending.request = {
          scope: widenScope(merged.scope, request.scope),
          // The first trigger names the tick; a forced full scan is kept once asked for.
          trigger: merged.trigger,
          fullScan: merged.fullScan || request.fullScan,
        };
        this.pending.resolvers.push({ resolve, reject });
      } else {
        this.pending = { request, resolvers: [{ resolve, reject }] };
      }
      this.pump();
    });
  }

  /** True while a tick runs or waits. */
  get busy(): boolean {
    return this.running !== null || this.pending !== null;
  }

  /** Refuses new requests; resolves when the running and queued ticks are done. */
  async drain(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }

  /**
   * Gives up on the running and queued ticks for their requesters: each gets `error` now (the
   * process is about to exit without them). The running tick itself is not stopped.
   */
  abandon(error: Error): void {
    this.closed = true;
    for (const ticket of [this.current, this.pending]) for (const r of ticket?.resolvers.splice(0) ?? []) r.reject(error);
  }

  private pump(): void {
    if (this.running || !this.pending) return;
    const next = this.pending;
    this.pending = null;
    this.current = next;
    this.running = (async () => {
      try {
        const result = await this.run(next.request);
        for (const r of next.resolvers) r.resolve(result);
      } catch (err) {
        for (const r of next.resolvers) r.reject(err);
      } finally {
        this.running = null;
        this.current = null;
        this.pump();
      }
    })();
  }
}
