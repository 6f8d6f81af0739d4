# syntax=docker/dockerfile:1
# s3-sync2 sidecar image. Build: docker build -t s3-sync2 .
# .ci/run (scripts/ci-image-check.sh) repeats the same install and start steps without a container engine.

# --- Build stage: all dependencies, src/ bundled into dist/ (esbuild) ------------------------------
FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts/build.mjs scripts/mime-table.mjs ./scripts/
COPY src ./src
RUN npm run build

# --- Runtime stage: production dependencies only ---------------------------------------------------
FROM node:22-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY openapi.yaml ./
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
# The synced folder. Fargate creates a bind-mounted volume root-owned 0755 unless the image's
# directory at the mount point says otherwise, so the non-root user gets it here.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
# The application files stay root-owned and read-only to the process.
USER node
EXPOSE 9180
# Docker and compose use this; ECS ignores it and runs the task definition's healthCheck instead.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 CMD ["node", "scripts/healthcheck.mjs"]
# Exec form: node is PID 1 and receives SIGTERM itself; dist/main.js handles SIGTERM/SIGINT (final
# up-sync, lock release) and starts no child processes, so no init (tini) is needed to forward
# signals or reap zombies.
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
