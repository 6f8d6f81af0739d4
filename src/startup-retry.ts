/**
 * Start-up checks that talk to AWS (the --dfs probe, CloudFront's origin lookup) ride out a store
 * or network that is briefly unreachable, as ticks do: a TransientError is tried again after a
 * pause until --max-failures attempts have failed (0: until it succeeds). Any other error ends the
 * start at once: access and configuration problems do not go away by waiting.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { messageOf, TransientError } from './errors.js';

/** How often, and how far apart, a start-up check is tried. */
export interface StartupRetry {
  /** Attempts before the last error is thrown; 0 = no limit. */
  readonly maxAttempts: number;
  readonly pauseMs: number;
  readonly logger: Logger;
}

/** The pause between attempts: the poll interval, at least 1 s and at most 30 s. */
export function startupPauseMs(pollSeconds: number): number {
  return Math.min(30, Math.max(1, pollSeconds)) * 1000;
}

/** `attempt()`, tried again after each TransientError while attempts are left; `what` names it in the log. */
export async function retryingTransient<T>(what: string, attempt: () => Promise<T>, { maxAttempts, pauseMs, logger }: StartupRetry): Promise<T> {
  for (let failed = 1; ; failed++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof TransientError) || (maxAttempts > 0 && failed >= maxAttempts)) throw err;
      const of = maxAttempts > 0 ? ` of ${maxAttempts}` : '';
      logger.warn({ err, attempt: failed, maxAttempts }, `${what} failed (attempt ${failed}${of}): ${messageOf(err)}; trying again in ${pauseMs / 1000} s`);
      await sleep(pauseMs);
    }
  }
}
