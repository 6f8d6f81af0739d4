/** `GET /metrics`: Prometheus text exposition of every metric in the process's registry. */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics.js';
import { errorSchema } from '../schemas.js';

/** Registers `GET /metrics`. */
export function metricsRoutes(metrics: Metrics) {
  return async function register(app: FastifyInstance): Promise<void> {
    app.get('/metrics', { schema: { response: { 500: errorSchema } } }, async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    });
  };
}
