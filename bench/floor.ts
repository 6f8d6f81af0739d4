/**
 * The server's floor for an upload: the same files PUT by the benchmark's own process from
 * memory (read before the clock starts), one plain PUT each, ten at a time (the aws CLI's
 * max_concurrent_requests) on fresh connections, as a newly started tool opens them. No client
 * can upload the tree faster against this moto; a tool's time above the floor is its own cost
 * (start-up, reading and checksumming files, its CPU taken from the cores moto shares).
 */
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { Tree } from './data.js';
import type { Measured } from './measure.js';
import { BENCH_CREDENTIALS, BENCH_REGION } from './s3.js';

/** PUTs issued at once. */
const PARALLEL = 10;

/**
 * Uploads `tree` under `prefix/` of `bucket` on `endpoint` (http, path-style) from memory and
 * measures the PUTs alone: wall, and this process's CPU meanwhile (the bench's, reading moto's
 * access log included; reading the files, before the clock, is not).
 */
export async function putFromMemory(endpoint: string, bucket: string, prefix: string, tree: Tree): Promise<Measured> {
  const limit = pLimit(PARALLEL);
  const bodies = await Promise.all([...tree.files.keys()].map((path) => limit(async () => ({ path, bytes: await readFile(join(tree.root, path)) }))));
  const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL });
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  try {
    await Promise.all(bodies.map(({ path, bytes }) => limit(() => put(agent, `${endpoint}/${bucket}/${prefix}/${path}`, bytes))));
  } finally {
    agent.destroy();
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

// moto checks neither signatures nor payload hashes; the header only names the credentials.
const AUTHORIZATION = `AWS4-HMAC-SHA256 Credential=${BENCH_CREDENTIALS.accessKeyId}/20260101/${BENCH_REGION}/s3/aws4_request, SignedHeaders=host, Signature=0`;

function put(agent: Agent, url: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', agent, headers: { 'content-length': body.length, authorization: AUTHORIZATION } }, (res) => {
      res.resume();
      res.once('error', reject);
      res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`floor PUT ${url}: HTTP ${res.statusCode}`))));
    });
    req.once('error', reject);
    req.end(body);
  });
}
