/** `GET /health`: the ECS container health check. 503 until the first sync, and while failing. */
import type { FastifyInstance } from 'fastify';
import type { DistributedLock } from '../../lock/types.js';
import type { SyncController, SyncStatus } from '../../sync/controller.js';
import { errorSchema, healthSchema } from '../schemas.js';

/**
 * Consecutive failures that make the sidecar unhealthy when --max-failures is 0 (never exit): the
 * loop keeps trying, but ECS and the application should learn the directory is going stale.
 * Equal to the default of --max-failures, so "never exit" is reported like the default would act.
 */
export const UNHEALTHY_FAILURES_WHEN_NEVER_EXIT = 3;

/** The verdict on one status snapshot. */
export interface HealthVerdict {
  readonly healthy: boolean;
  /** Why it is unhealthy; null when healthy. */
  readonly reason: string | null;
  /** Consecutive failures at which the sidecar reports unhealthy. */
  readonly unhealthyAfterFailures: number;
}

/** Decides health: after the initial sync, below the failure threshold, not shutting down. */
export function assessHealth(status: SyncStatus): HealthVerdict {
  const unhealthyAfterFailures = status.maxFailures > 0 ? status.maxFailures : UNHEALTHY_FAILURES_WHEN_NEVER_EXIT;
  const verdict = (reason: string | null) => ({ healthy: reason === null, reason, unhealthyAfterFailures });
  if (status.state === 'stopping' || status.state === 'stopped') return verdict('shutting down');
  if (!status.initialSyncDone) {
    const last = status.lastError ? ` (last error: ${status.lastError})` : '';
    return verdict(`initial sync not done${last}`);
  }
  if (status.consecutiveFailures >= unhealthyAfterFailures) {
    return verdict(
      `${status.consecutiveFailures} consecutive sync failures (unhealthy at ${unhealthyAfterFailures}); ` +
        `last error: ${status.lastError ?? 'unknown'}`,
    );
  }
  return verdict(null);
}

/** What the health route needs. */
export interface HealthRouteDeps {
  readonly controller: SyncController;
  readonly lock: DistributedLock | null;
}

/** Registers `GET /health`. It never touches S3, so a slow store cannot fail the health check. */
export function healthRoutes(deps: HealthRouteDeps) {
  return async function register(app: FastifyInstance): Promise<void> {
    app.get(
      '/health',
      { schema: { response: { 200: healthSchema, 503: healthSchema, 500: errorSchema } } },
      async (_request, reply) => {
        const status = deps.controller.status();
        const verdict = assessHealth(status);
        return reply.code(verdict.healthy ? 200 : 503).send({
          status: verdict.healthy ? 'ok' : 'unavailable',
          reason: verdict.reason,
          state: status.state,
          initialSyncDone: status.initialSyncDone,
          lastSuccessAt: status.lastSuccessAt,
          consecutiveFailures: status.consecutiveFailures,
          unhealthyAfterFailures: verdict.unhealthyAfterFailures,
          lastError: status.lastError,
          lock: deps.lock ? { ownerId: deps.lock.ownerId, heldByUs: deps.lock.isHeld() } : null,
        });
      },
    );
  };
}
