/**
 * Who may call the mutating routes (POST, DELETE): with a control token, whoever presents it;
 * without one, only callers on the loopback interface.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** True for 127.0.0.0/8, ::1, their IPv4-mapped forms and `localhost`. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  if (a === 'localhost' || a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice('::ffff:'.length) : a;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** The outcome of the access check: allowed, or the status and message to answer with. */
export type AccessDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly status: 401 | 403; readonly message: string };

/** What the access check looks at. */
export interface AccessRequest {
  /** The configured control token; undefined or '' = none. */
  readonly token: string | undefined;
  /** The request's Authorization header. */
  readonly authorization: string | undefined;
  /** The caller's address (the socket's remote address). */
  readonly remoteAddress: string | undefined;
  /** For the message, e.g. "POST /sync/up". */
  readonly what: string;
}

const TOKEN_HINT = 'the token given by --control-token (CONTROL_TOKEN)';

/**
 * Decides whether a mutating request may proceed. Without a token only loopback callers pass; when
 * the server listens on loopback every caller is loopback, so the caller's address alone decides.
 */
export function decideAccess(req: AccessRequest): AccessDecision {
  if (req.token) {
    const given = /^Bearer\s+(\S+)\s*$/i.exec(req.authorization ?? '')?.[1];
    if (given === undefined) {
      return {
        allowed: false,
        status: 401,
        message: `${req.what} needs a control token: send 'Authorization: Bearer <token>' with ${TOKEN_HINT}`,
      };
    }
    if (!sameSecret(given, req.token)) {
      return { allowed: false, status: 401, message: `${req.what}: wrong control token; use ${TOKEN_HINT}` };
    }
    return { allowed: true };
  }
  if (isLoopbackAddress(req.remoteAddress)) return { allowed: true };
  return {
    allowed: false,
    status: 403,
    message:
      `${req.what} from ${req.remoteAddress ?? 'an unknown address'} refused: no control token is set, so ` +
      'mutating routes accept callers on loopback only; start the sidecar with --control-token ' +
      "(CONTROL_TOKEN) and send 'Authorization: Bearer <token>'",
  };
}

/** Compares in constant time: digests have equal length whatever the inputs' lengths. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** An onRequest hook that enforces `decideAccess` for one route. */
export function requireControlAccess(token: string | undefined) {
  return async function controlAccess(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
    const decision = decideAccess({
      token,
      authorization: request.headers.authorization,
      remoteAddress: request.socket.remoteAddress,
      what: `${request.method} ${request.routeOptions.url ?? request.url}`,
    });
    if (decision.allowed) return;
    if (decision.status === 401) reply.header('www-authenticate', 'Bearer realm="s3-sync2"');
    request.log.warn({ remoteAddress: request.socket.remoteAddress }, decision.message);
    // Returning the reply tells Fastify the request is answered and the handler must not run.
    return reply
      .code(decision.status)
      .send({ error: decision.status === 401 ? 'Unauthorized' : 'Forbidden', message: decision.message });
  };
}
