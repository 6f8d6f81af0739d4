/** Starts the real control server on 127.0.0.1:0 for a test and stops it in `after`. */
import { after } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { buildServer, startServer, type ServerDeps } from '../../src/http/server.js';
import { ScriptedController, testConfig } from './doubles.js';

/** A running server and what it was built from. */
export interface Served {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly metrics: Metrics;
  readonly controller: ServerDeps['controller'];
  /** fetch() relative to the server's URL. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/** Builds and starts a server (defaults: a ScriptedController, no lock, no token, loopback). */
export async function serve(
  overrides: Partial<ServerDeps> = {},
  listen: { host: string } = { host: '127.0.0.1' },
  beforeListen?: (app: FastifyInstance) => void,
): Promise<Served> {
  const metrics = overrides.metrics ?? createMetrics({ withDefaults: false });
  const deps: ServerDeps = {
    controller: new ScriptedController(),
    lock: null,
    metrics,
    config: testConfig({ host: listen.host }),
    logger: false,
    version: '0.0.0-test',
    ...overrides,
  };
  const app = buildServer(deps);
  beforeListen?.(app);
  const running = await startServer(app, { host: listen.host, port: 0 });
  after(() => running.close());
  const url = running.url.replace('0.0.0.0', '127.0.0.1');
  return {
    url,
    app,
    metrics,
    controller: deps.controller,
    fetch: (path, init) => fetch(`${url}${path}`, init),
  };
}
