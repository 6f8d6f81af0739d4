/** `POST /sync/up` and `POST /sync/down`: run a tick in one direction now. */
import type { FastifyInstance } from 'fastify';
import { DirectionDisabledError, ShuttingDownError, type SyncController } from '../../sync/controller.js';
import type { Direction } from '../../sync/types.js';
import { requireControlAccess } from '../auth.js';
import { acceptedSchema, errorSchema, syncQuerySchema, tickSummarySchema } from '../schemas.js';

/** What the sync routes need. */
export interface SyncRouteDeps {
  readonly controller: SyncController;
  readonly controlToken: string | undefined;
}

/**
 * Registers both sync routes. `wait=true` (default) answers 200 with the tick's summary, or 502 with
 * it when the tick failed (so `curl -f` fails too); `wait=false` answers 202 once the tick is queued.
 */
export function syncRoutes(deps: SyncRouteDeps) {
  return async function register(app: FastifyInstance): Promise<void> {
    for (const direction of ['up', 'down'] as const) {
      app.post<{ Querystring: { wait: boolean } }>(
        `/sync/${direction}`,
        {
          onRequest: requireControlAccess(deps.controlToken),
          schema: {
            querystring: syncQuerySchema,
            response: {
              200: tickSummarySchema,
              202: acceptedSchema,
              400: errorSchema,
              401: errorSchema,
              403: errorSchema,
              409: errorSchema,
              413: errorSchema,
              415: errorSchema,
              500: errorSchema,
              502: tickSummarySchema,
              503: errorSchema,
            },
          },
        },
        async (request, reply) => {
          refuseEarly(deps.controller, direction);
          const tick = deps.controller.requestSync(direction);
          if (!request.query.wait) {
            tick.catch((err: unknown) => request.log.warn({ err }, `sync ${direction} (wait=false) failed`));
            return reply.code(202).send({ accepted: true, direction });
          }
          const summary = await tick;
          return reply.code(summary.outcome === 'failure' ? 502 : 200).send(summary);
        },
      );
    }
  };
}

/** Refuses before queueing, so `wait=false` callers learn of a disabled direction or a shutdown too. */
function refuseEarly(controller: SyncController, direction: Direction): void {
  if (!controller.isDirectionEnabled(direction)) throw new DirectionDisabledError(direction);
  const { state } = controller.status();
  if (state === 'stopping' || state === 'stopped') throw new ShuttingDownError();
}
