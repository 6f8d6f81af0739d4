/** `GET /lock`, `POST /lock`, `DELETE /lock`: the distributed lock's state, and holds for the app. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DistributedLock, LockStatus } from '../../lock/types.js';
import { ShuttingDownError, type SyncController } from '../../sync/controller.js';
import { requireControlAccess } from '../auth.js';
import { errorBody } from '../errors.js';
import { errorSchema, lockConflictSchema, lockHoldRequestSchema, lockStatusSchema } from '../schemas.js';

/** What the lock routes need; `lock` is null when distributed mode is off. */
export interface LockRouteDeps {
  readonly lock: DistributedLock | null;
  readonly controlToken: string | undefined;
  /** The loop: a hold asked for while it shuts down would keep its final sync from the bucket. */
  readonly controller: Pick<SyncController, 'status'>;
}

/** The 409 message while distributed mode is off. */
export const DFS_OFF_MESSAGE =
  'distributed mode is off: the lock exists only when the sidecar runs with --dfs (DFS=true)';

const responses = {
  200: lockStatusSchema,
  409: lockConflictSchema,
  500: errorSchema,
  503: errorSchema,
} as const;
const releaseResponses = { ...responses, 401: errorSchema, 403: errorSchema, 413: errorSchema, 415: errorSchema } as const;
const holdResponses = { ...releaseResponses, 400: errorSchema } as const;

/**
 * The schema's integer check runs after Fastify's type coercion, which would take "20", true or
 * [30] for a number: the type the caller sent is checked first.
 */
async function refuseNonNumericLease(request: FastifyRequest): Promise<void> {
  const body: unknown = request.body;
  if (typeof body !== 'object' || body === null || !('leaseSeconds' in body)) return;
  const value = (body as { leaseSeconds: unknown }).leaseSeconds;
  if (typeof value === 'number' && Number.isFinite(value)) return;
  const got = typeof value === 'number' ? String(value) : JSON.stringify(value);
  throw Object.assign(new Error(`leaseSeconds: must be an integer (body field, got ${got})`), { statusCode: 400 });
}

/** Registers the lock routes. */
export function lockRoutes(deps: LockRouteDeps) {
  const { lock } = deps;
  const controlAccess = requireControlAccess(deps.controlToken);

  /** Runs `op` on the lock, answering 409 when there is no lock or another node holds it too long. */
  async function answer(reply: FastifyReply, op: (lock: DistributedLock) => Promise<LockStatus>) {
    if (!lock) return reply.code(409).send({ ...errorBody(409, DFS_OFF_MESSAGE), lock: null });
    try {
      return await op(lock);
    } catch (err) {
      // Matched by name: the lock module owns the class, the API only needs to recognise it.
      if (!(err instanceof Error) || err.name !== 'LockWaitTimeoutError') throw err;
      // Its message names the holder; the body adds the lock's state as this node now sees it.
      const state = await lock.status().catch(() => null);
      return reply.code(409).send({ ...errorBody(409, `${err.message}; try again later`), lock: state });
    }
  }

  return async function register(app: FastifyInstance): Promise<void> {
    app.get('/lock', { schema: { response: responses } }, async (_request, reply) =>
      answer(reply, (l) => l.status()),
    );
    app.post<{ Body: { leaseSeconds: number } }>(
      '/lock',
      {
        onRequest: controlAccess,
        preValidation: refuseNonNumericLease,
        schema: { body: lockHoldRequestSchema, response: holdResponses },
      },
      async (request, reply) => {
        const { state } = deps.controller.status();
        if (state === 'stopping' || state === 'stopped') throw new ShuttingDownError('the sidecar is shutting down and takes no new lock holds');
        return answer(reply, (l) => l.holdForApp(request.body.leaseSeconds));
      },
    );
    app.delete(
      '/lock',
      { onRequest: controlAccess, schema: { response: releaseResponses } },
      async (_request, reply) => answer(reply, (l) => l.releaseForApp()),
    );
  };
}
