/**
 * JSON schemas of the control API: Fastify validates requests and serialises responses with them,
 * and `openapi.yaml` mirrors them (test/http/openapi.test.ts keeps the two equal).
 */

const nullableString = { type: ['string', 'null'] } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;
const count = { type: 'integer', minimum: 0 } as const;

/** Every error answer: a short reason and a message that says what to do. */
export const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
  },
} as const;

/** The summary of one finished tick (TickSummary). */
export const tickSummarySchema = {
  type: 'object',
  required: [
    'id', 'direction', 'trigger', 'startedAt', 'seconds', 'outcome', 'errors',
    'uploaded', 'downloaded', 'deletedLocal', 'deletedRemote', 'conflicts', 'skipped', 'bytesUp', 'bytesDown', 'dryrun',
  ],
  properties: {
    id: count,
    direction: { type: 'string', enum: ['up', 'down', 'both'] },
    trigger: { type: 'string', enum: ['initial', 'timer', 'watch', 'http', 'shutdown'] },
    startedAt: dateTime,
    seconds: { type: 'number', minimum: 0 },
    outcome: { type: 'string', enum: ['success', 'failure'] },
    errors: { type: 'array', items: { type: 'string' } },
    uploaded: count,
    downloaded: count,
    deletedLocal: count,
    deletedRemote: count,
    conflicts: count,
    skipped: count,
    bytesUp: count,
    bytesDown: count,
    dryrun: count,
  },
} as const;

/** The answer of `POST /sync/*?wait=false`. */
export const acceptedSchema = {
  type: 'object',
  required: ['accepted', 'direction'],
  properties: {
    accepted: { type: 'boolean', const: true },
    direction: { type: 'string', enum: ['up', 'down'] },
  },
} as const;

/** The loop's status (SyncStatus). */
export const syncStatusSchema = {
  type: 'object',
  required: [
    'state', 'initialSyncDone', 'lastSuccessAt', 'consecutiveFailures', 'maxFailures', 'lastError',
    'localFiles', 'remoteFiles', 'recentTicks', 'recentErrors',
  ],
  properties: {
    state: { type: 'string', enum: ['starting', 'initial-sync', 'idle', 'syncing', 'failing', 'stopping', 'stopped'] },
    initialSyncDone: { type: 'boolean' },
    lastSuccessAt: nullableDateTime,
    consecutiveFailures: count,
    maxFailures: count,
    lastError: nullableString,
    localFiles: count,
    remoteFiles: count,
    recentTicks: { type: 'array', items: tickSummarySchema },
    recentErrors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['at', 'message'],
        properties: { at: dateTime, message: { type: 'string' } },
      },
    },
  },
} as const;

/** The lock object's body (LockBody). */
export const lockBodySchema = {
  type: 'object',
  required: ['owner', 'host', 'acquiredAt', 'leaseSeconds', 'generation'],
  properties: {
    owner: { type: 'string' },
    host: { type: 'string' },
    acquiredAt: dateTime,
    leaseSeconds: { type: 'number', minimum: 0 },
    generation: count,
  },
} as const;

/** The distributed lock as this node sees it (LockStatus). */
export const lockStatusSchema = {
  type: 'object',
  required: ['heldByUs', 'appHoldUntil', 'holder', 'leaseLeftSeconds'],
  properties: {
    heldByUs: { type: 'boolean' },
    appHoldUntil: nullableDateTime,
    holder: { anyOf: [lockBodySchema, { type: 'null' }] },
    leaseLeftSeconds: { type: ['number', 'null'] },
  },
} as const;

/** A 409 from the lock routes when another node holds the lock: the error plus the lock's state. */
export const lockConflictSchema = {
  type: 'object',
  required: ['error', 'message', 'lock'],
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    lock: { anyOf: [lockStatusSchema, { type: 'null' }] },
  },
} as const;

/** The body of `POST /lock`. */
export const lockHoldRequestSchema = {
  type: 'object',
  required: ['leaseSeconds'],
  additionalProperties: false,
  properties: {
    leaseSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
  },
} as const;

/** The body of `GET /health` (both 200 and 503). */
export const healthSchema = {
  type: 'object',
  required: [
    'status', 'reason', 'state', 'initialSyncDone', 'lastSuccessAt', 'consecutiveFailures',
    'unhealthyAfterFailures', 'lastError', 'lock',
  ],
  properties: {
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    reason: nullableString,
    state: syncStatusSchema.properties.state,
    initialSyncDone: { type: 'boolean' },
    lastSuccessAt: nullableDateTime,
    consecutiveFailures: count,
    unhealthyAfterFailures: { type: 'integer', minimum: 1 },
    lastError: nullableString,
    lock: {
      anyOf: [
        {
          type: 'object',
          required: ['ownerId', 'heldByUs'],
          properties: { ownerId: { type: 'string' }, heldByUs: { type: 'boolean' } },
        },
        { type: 'null' },
      ],
    },
  },
} as const;

/** The body of `GET /status`. */
export const statusSchema = {
  type: 'object',
  required: ['version', 'startedAt', 'uptimeSeconds', 'distributed', 'config', 'sync', 'lock', 'lockError'],
  properties: {
    version: { type: 'string' },
    startedAt: dateTime,
    uptimeSeconds: { type: 'number', minimum: 0 },
    distributed: { type: 'boolean' },
    config: { type: 'object', additionalProperties: true },
    sync: syncStatusSchema,
    lock: { anyOf: [lockStatusSchema, { type: 'null' }] },
    lockError: nullableString,
  },
} as const;

/** The querystring of `POST /sync/up` and `POST /sync/down`. */
export const syncQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    wait: { type: 'boolean', default: true },
  },
} as const;
