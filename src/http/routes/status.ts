/** `GET /status`: everything a person debugging the sidecar wants, in one JSON document. */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';
import type { DistributedLock, LockStatus } from '../../lock/types.js';
import type { SyncController } from '../../sync/controller.js';
import { redactSecrets } from '../redact.js';
import { errorSchema, statusSchema } from '../schemas.js';
import { messageOf } from '../../errors.js';

/** What the status route needs. */
export interface StatusRouteDeps {
  readonly controller: SyncController;
  readonly lock: DistributedLock | null;
  readonly config: Config;
  readonly version: string;
  readonly startedAt: Date;
}

/** Registers `GET /status`. A lock that cannot be read is reported in `lockError`, not as a failure. */
export function statusRoutes(deps: StatusRouteDeps) {
  // The config never changes after start, so it is redacted once.
  const config = redactSecrets(deps.config);
  return async function register(app: FastifyInstance): Promise<void> {
    app.get('/status', { schema: { response: { 200: statusSchema, 500: errorSchema } } }, async () => {
      let lock: LockStatus | null = null;
      let lockError: string | null = null;
      if (deps.lock) {
        try {
          lock = await deps.lock.status();
        } catch (err) {
          lockError = `read lock status: ${messageOf(err)}`;
        }
      }
      return {
        version: deps.version,
        startedAt: deps.startedAt.toISOString(),
        uptimeSeconds: (Date.now() - deps.startedAt.getTime()) / 1000,
        distributed: deps.lock !== null,
        config,
        sync: deps.controller.status(),
        lock,
        lockError,
      };
    });
  };
}
