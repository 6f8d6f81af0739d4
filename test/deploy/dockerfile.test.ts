import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';

interface Instruction {
  readonly stage: number;
  readonly keyword: string;
  readonly args: string;
}

/** The Dockerfile's instructions (continuations joined, comments dropped), each with its stage index. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(trimmed) ?? [];
    if (keyword.toUpperCase() === 'FROM') stage += 1;
    out.push({ stage, keyword: keyword.toUpperCase(), args });
  }
  return out;
}

const instructions = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
const stages = instructions.filter((i) => i.keyword === 'FROM');
const finalStage = stages.length - 1;
const inStage = (stage: number, keyword: string) =>
  instructions.filter((i) => i.stage === stage && i.keyword === keyword).map((i) => i.args);
const dockerignore = readFileSync('.dockerignore', 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

test('Dockerfile: multi-stage on node:22 slim or alpine', () => {
  assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
  for (const from of stages) assert.match(from.args, /^node:22-(slim|alpine)\b/, `base image of "FROM ${from.args}"`);
  const buildName = /\bAS\s+(\S+)/i.exec(stages[0]!.args)?.[1];
  assert.ok(buildName, 'the build stage is named');
  assert.ok(
    inStage(finalStage, 'COPY').some((args) => args.startsWith(`--from=${buildName} `) && /\bdist\b/.test(args)),
    'the runtime stage takes dist/ from the build stage',
  );
});

test('Dockerfile: the build stage installs everything and builds; the runtime installs production dependencies only', () => {
  const buildRuns = inStage(0, 'RUN').join('\n');
  assert.match(buildRuns, /\bnpm ci\b/);
  assert.match(buildRuns, /\bnpm run build\b/);
  const runtimeRuns = inStage(finalStage, 'RUN');
  const installs = runtimeRuns.filter((r) => /\bnpm (ci|install|i)\b/.test(r));
  assert.equal(installs.length, 1, 'one install in the runtime stage');
  assert.match(installs[0]!, /\bnpm ci\b.*--omit=dev/);
  assert.doesNotMatch(runtimeRuns.join('\n'), /npm run build|\btsc\b/, 'nothing is compiled at runtime');
});

test('Dockerfile: runs as a non-root user, exec-form CMD node dist/main.js, health-check script included', () => {
  const users = inStage(finalStage, 'USER');
  assert.ok(users.length > 0, 'USER is set in the runtime stage');
  assert.doesNotMatch(users.at(-1)!, /^(root|0)(:|$)/);
  const cmd = inStage(finalStage, 'CMD').at(-1);
  assert.ok(cmd, 'CMD is set');
  assert.deepEqual(JSON.parse(cmd), ['node', 'dist/main.js'], 'exec form, so SIGTERM reaches node');
  for (const entrypoint of inStage(finalStage, 'ENTRYPOINT')) {
    assert.ok(entrypoint.startsWith('['), 'no shell-form ENTRYPOINT (a shell would swallow SIGTERM)');
  }
  assert.ok(inStage(finalStage, 'COPY').some((args) => /scripts\/healthcheck\.mjs/.test(args)));
  assert.ok(inStage(finalStage, 'COPY').some((args) => /openapi\.yaml/.test(args)));
});

test('Dockerfile: every COPY source exists in the repository and is not excluded by .dockerignore', () => {
  const sources = instructions
    .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from='))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  assert.ok(sources.length > 0);
  for (const source of sources) {
    assert.ok(existsSync(source), `${source} exists`);
    assert.ok(!dockerignore.includes(source.replace(/\/$/, '')), `${source} is not in .dockerignore`);
  }
});

test('Dockerfile: the build stage copies the build script and every script of ours it imports', () => {
  const copied = inStage(0, 'COPY').flatMap((args) => args.split(/\s+/).slice(0, -1));
  const imported = [...readFileSync('scripts/build.mjs', 'utf8').matchAll(/(?:from\s*|import\s*\(\s*)['"]\.\/([^'"]+)['"]/g)].map((m) => `scripts/${m[1]}`);
  assert.ok(imported.length > 0, 'build.mjs imports a script of ours (mime-table.mjs); the pattern found none');
  for (const script of ['scripts/build.mjs', ...imported]) {
    assert.ok(copied.includes(script), `${script} is copied into the build stage (npm run build needs it)`);
  }
});

test('.dockerignore keeps node_modules, .git and dist out of the build context', () => {
  for (const name of ['node_modules', '.git', 'dist']) assert.ok(dockerignore.includes(name), name);
});

/** Runs scripts/healthcheck.mjs against `port`; resolves its exit code and run time. */
function runHealthcheck(port: number): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['scripts/healthcheck.mjs'], {
    env: { PATH: process.env.PATH ?? '', HTTP_PORT: String(port) },
    stdio: 'ignore',
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, ms: Date.now() - started })));
}

async function serve(handler: RequestListener): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function closed(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Runs the health check against a local server answering with `handler`. */
async function healthcheckAgainst(handler: RequestListener): Promise<{ code: number | null; ms: number }> {
  const { server, port } = await serve(handler);
  try {
    return await runHealthcheck(port);
  } finally {
    await closed(server);
  }
}

test('healthcheck.mjs: exit 0 when GET /health answers 200', async () => {
  const result = await healthcheckAgainst((req, res) => {
    res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
    res.end('{"state":"ok"}');
  });
  assert.equal(result.code, 0);
});

test('healthcheck.mjs: exit 1 when /health answers 503 (initial sync not done)', async () => {
  const result = await healthcheckAgainst((_req, res) => {
    res.writeHead(503);
    res.end('{"state":"starting"}');
  });
  assert.equal(result.code, 1);
});

test('healthcheck.mjs: exit 1 when nothing listens', async () => {
  const { server, port } = await serve(() => undefined);
  await closed(server);
  assert.equal((await runHealthcheck(port)).code, 1);
});

test('healthcheck.mjs: exit 1 after 3 s when the server never answers', async () => {
  const { code, ms } = await healthcheckAgainst(() => undefined);
  assert.equal(code, 1);
  assert.ok(ms >= 2900 && ms < 10_000, `gave up after ${ms} ms`);
});
