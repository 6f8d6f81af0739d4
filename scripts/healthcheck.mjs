#!/usr/bin/env node
// Container health check for ECS (`["CMD", "node", "scripts/healthcheck.mjs"]`): plain Node, no
// dependencies and no curl in the image. Exit 0 when the sidecar's /health answers 200 (initial
// sync done), 1 otherwise (503 before it, connection refused, or no answer within 3 s).
import { request } from 'node:http';

const port = Number(process.env.HTTP_PORT || 9180);
const TIMEOUT_MS = 3000;

const req = request({ host: '127.0.0.1', port, path: '/health', method: 'GET' }, (res) => {
  res.resume();
  res.on('end', () => {
    if (res.statusCode !== 200) console.error(`healthcheck: /health answered ${res.statusCode}`);
    process.exit(res.statusCode === 200 ? 0 : 1);
  });
});
// A deadline for the whole exchange, not only for an idle socket.
const timer = setTimeout(() => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
timer.unref();
req.on('error', (err) => {
  console.error(`healthcheck: GET http://127.0.0.1:${port}/health: ${err.message}`);
  process.exit(1);
});
req.end();
