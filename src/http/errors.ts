/**
 * Every failure of the control API answers JSON `{ error, message }` with a message a person can act
 * on: validation errors name the parameter, unknown routes list the routes, a known path with the
 * wrong method gets 405 with `Allow`, domain errors map to their status codes.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DirectionDisabledError, ShuttingDownError } from '../sync/controller.js';

/** The body of every error answer. */
export interface ErrorBody {
  readonly error: string;
  readonly message: string;
}

/** Builds the error body for a status code. */
export function errorBody(status: number, message: string): ErrorBody {
  return { error: STATUS_CODES[status] ?? 'Error', message };
}

/** One Ajv error as Fastify reports it (only the fields used here). */
interface ValidationIssue {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
}

const PART_NAMES: Record<string, string> = {
  querystring: 'query parameter',
  body: 'body field',
  params: 'path parameter',
  headers: 'header',
};

/**
 * Turns the first validation issue into "wait: must be true or false (query parameter, got "x")".
 * `data` is the request part that failed, to quote the value the caller sent.
 */
export function validationMessage(part: string, issue: ValidationIssue, data: unknown): string {
  const fromPath = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const named =
    (typeof issue.params.missingProperty === 'string' && issue.params.missingProperty) ||
    (typeof issue.params.additionalProperty === 'string' && issue.params.additionalProperty) ||
    fromPath;
  const where = PART_NAMES[part] ?? part;
  if (!named) {
    // The part as a whole is wrong: no body, or one that is not a JSON object.
    return part === 'body' ? 'body: must be a JSON object with Content-Type: application/json' : `${part}: ${issue.message}`;
  }
  const sent = valueAt(data, fromPath);
  const got = sent === undefined ? '' : `, got ${JSON.stringify(sent)}`;
  switch (issue.keyword) {
    case 'required':
      return `${named}: is required (${where})`;
    case 'additionalProperties':
      return `${named}: unknown ${where}; check its spelling`;
    case 'type':
      return `${named}: must be ${describeType(issue.params.type)} (${where}${got})`;
    default:
      return `${named}: ${issue.message ?? 'is invalid'} (${where}${got})`;
  }
}

function describeType(type: unknown): string {
  if (type === 'boolean') return 'true or false';
  if (type === 'integer') return 'an integer';
  if (type === 'object') return 'an object';
  return typeof type === 'string' ? `a ${type}` : 'of another type';
}

function valueAt(data: unknown, dotted: string): unknown {
  if (!dotted) return undefined;
  let at: unknown = data;
  for (const key of dotted.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** The status code a thrown error maps to: domain errors by class, Fastify's by their statusCode. */
function statusOf(err: FastifyError | Error): number {
  if (err instanceof DirectionDisabledError || err.name === 'LockWaitTimeoutError') return 409;
  // A lock closed for shutdown ends a hold request that was waiting for it.
  if (err instanceof ShuttingDownError || err.name === 'LockClosedError') return 503;
  const code = (err as FastifyError).statusCode;
  return typeof code === 'number' && code >= 400 && code < 600 ? code : 500;
}

function messageOf(err: FastifyError | Error, status: number, request: FastifyRequest): string {
  const validation = (err as FastifyError).validation;
  if (validation && validation.length > 0) {
    const part = (err as FastifyError).validationContext ?? 'request';
    const data = part === 'querystring' ? request.query : part === 'body' ? request.body : undefined;
    return validationMessage(part, validation[0] as ValidationIssue, data);
  }
  if (status === 500) return `${request.method} ${request.url} failed: ${err.message}`;
  return err.message;
}

/** The Fastify error handler: maps errors to status codes and JSON bodies, logs server faults. */
export function handleError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  const status = statusOf(err);
  const message = messageOf(err, status, request);
  // 503 is the shutdown speaking, not a fault.
  if (status >= 500 && status !== 503) request.log.error({ err }, message);
  else request.log.info({ status }, message);
  return reply.code(status).send(errorBody(status, message));
}

/** Methods we may answer 405 for; HEAD and OPTIONS are not served at all. */
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** The not-found handler: 405 with `Allow` for a known path, else 404 listing the routes. */
export function notFoundHandler(app: FastifyInstance, routes: readonly string[]) {
  return function notFound(request: FastifyRequest, reply: FastifyReply) {
    const path = request.url.split('?')[0] ?? request.url;
    const allowed = METHODS.filter((method) => app.hasRoute({ method, url: path }));
    if (allowed.length > 0) {
      const message = `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`;
      return reply.code(405).header('allow', allowed.join(', ')).send(errorBody(405, message));
    }
    const message = `no route ${request.method} ${path}; the routes are ${routes.join(', ')}`;
    return reply.code(404).send(errorBody(404, message));
  };
}
