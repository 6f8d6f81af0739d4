/**
 * The control server: health, metrics, forced syncs, status and the lock, over HTTP (Fastify).
 * It talks to the engine only through SyncController and DistributedLock, so it can listen before
 * the initial sync starts and close last on shutdown.
 */
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { LoggerOptions } from 'pino';
import type { Config } from '../config.js';
import type { DistributedLock } from '../lock/types.js';
import type { Metrics } from '../metrics.js';
import type { SyncController } from '../sync/controller.js';
import { isLoopbackAddress } from './auth.js';
import { handleError, notFoundHandler } from './errors.js';
import { healthRoutes } from './routes/health.js';
import { lockRoutes } from './routes/lock.js';
import { metricsRoutes } from './routes/metrics.js';
import { statusRoutes } from './routes/status.js';
import { syncRoutes } from './routes/sync.js';
import { messageOf } from '../errors.js';

/** What the control server is built from. */
export interface ServerDeps {
  readonly controller: SyncController;
  /** Null when distributed mode is off: the /lock routes then answer 409. */
  readonly lock: DistributedLock | null;
  readonly metrics: Metrics;
  /** Shown by `GET /status` with secrets redacted; `http.controlToken` guards the mutating routes. */
  readonly config: Config;
  /** A pino logger (or Fastify logger options; false = silent). Request logs are JSON lines. */
  readonly logger?: FastifyBaseLogger | LoggerOptions | boolean;
  readonly version: string;
  /** When the process started (for uptime); defaults to now. */
  readonly startedAt?: Date;
}

/** Paths probed every few seconds: logged at debug only, so they do not flood the log. */
const QUIET_PATHS = new Set(['/health', '/metrics']);

function pathOf(url: string): string {
  return url.split('?')[0] ?? url;
}

/** One JSON line per request at info (debug for probes); Fastify's own lines are dropped. */
class RequestLog extends LogController {
  override incomingRequest(): void {}
  override routeNotFound(): void {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      responseTime: reply.elapsedTime,
      remoteAddress: request.socket.remoteAddress,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else if (QUIET_PATHS.has(pathOf(request.url))) reply.log.debug(line, 'request completed');
    else reply.log.info(line, 'request completed');
  }
}

function isLoggerInstance(logger: ServerDeps['logger']): logger is FastifyBaseLogger {
  return typeof logger === 'object' && typeof (logger as FastifyBaseLogger).child === 'function';
}

/** Builds the server with every route; nothing listens until `startServer`. */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const logging = isLoggerInstance(deps.logger)
    ? { loggerInstance: deps.logger }
    : { logger: (deps.logger ?? false) as LoggerOptions | boolean };
  const app = Fastify({
    ...logging,
    logController: new RequestLog(),
    // HEAD would double every route in the spec for no user; it answers 405 instead.
    exposeHeadRoutes: false,
    // Where a route declares its query parameters or body, unknown ones are refused (400 naming
    // them), never silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  });

  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push(`${method} ${route.url}`);
  });
  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.httpRequests.inc({
      method: request.method,
      route: request.routeOptions.url ?? 'unknown',
      status: String(reply.statusCode),
    });
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(notFoundHandler(app, routes));

  const controlToken = deps.config.http.controlToken || undefined;
  if (!controlToken && !isLoopbackAddress(deps.config.http.host)) {
    app.log.info(
      `no control token: POST and DELETE routes accept callers on loopback only (set --control-token to allow others)`,
    );
  }
  app.register(healthRoutes({ controller: deps.controller, lock: deps.lock }));
  app.register(metricsRoutes(deps.metrics));
  app.register(syncRoutes({ controller: deps.controller, controlToken }));
  app.register(
    statusRoutes({
      controller: deps.controller,
      lock: deps.lock,
      config: deps.config,
      version: deps.version,
      startedAt: deps.startedAt ?? new Date(),
    }),
  );
  app.register(lockRoutes({ lock: deps.lock, controlToken, controller: deps.controller }));
  return app;
}

/** A listening control server. */
export interface RunningServer {
  /** The URL it listens on, e.g. `http://127.0.0.1:9180`. */
  readonly url: string;
  /** The bound port (useful when asked for port 0). */
  readonly port: number;
  /** Stops accepting connections, lets in-flight requests finish, closes. */
  close(): Promise<void>;
}

/** Starts listening on `host:port` (port 0 = any free port). */
export async function startServer(
  app: FastifyInstance,
  options: { readonly host: string; readonly port: number },
): Promise<RunningServer> {
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    const cause = messageOf(err);
    throw new Error(`start control server on ${options.host}:${options.port}: ${cause}`, { cause: err });
  }
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound ? bound.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { url: `http://${host}:${port}`, port, close: () => app.close() };
}
