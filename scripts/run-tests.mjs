// Runs every test/**/*.test.ts with Node's test runner (TypeScript through tsx), against one moto
// server started here for the whole run, or against S3_TEST_ENDPOINT when that is set.
// Usage: node scripts/run-tests.mjs [file-or-substring ...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startMoto } from './moto.mjs';

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (name.endsWith('.test.ts')) out.push(relative(process.cwd(), full));
  }
  return out.sort();
}

const wanted = process.argv.slice(2);
const files = findTests('test').filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)));
if (files.length === 0) {
  console.error(`no test files match ${wanted.join(' ')}`);
  process.exit(1);
}

let moto;
const env = { ...process.env };
if (!env.S3_TEST_ENDPOINT) {
  try {
    moto = await startMoto();
  } catch (err) {
    console.error(String(err.message ?? err));
    process.exit(1);
  }
  Object.assign(env, {
    S3_TEST_ENDPOINT: moto.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
  });
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env },
);
const stop = () => child.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
await moto?.stop();
process.exit(code);
