/** Node id resolution order: ECS task ARN, /etc/machine-id, hostname; --dfs-uid-hostname; `:<pid>`. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveNodeId } from '../../src/lock/node-id.js';

const TASK_ARN = 'arn:aws:ecs:eu-west-1:123456789012:task/cluster/0123456789abcdef';
let server: Server;
let metadataUri: string;
const pending: Array<() => void> = [];

before(async () => {
  // The ECS task metadata endpoint v4: /task answers JSON; /slow never answers; /broken is 500.
  server = createServer((req, res) => {
    if (req.url === '/v4/task') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ Cluster: 'cluster', TaskARN: TASK_ARN }));
    } else if (req.url === '/slow/task') {
      pending.push(() => res.end('{}'));
    } else {
      res.statusCode = 500;
      res.end('broken');
    }
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  metadataUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  for (const finish of pending) finish();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const machineId = async (path: string) => {
  assert.equal(path, '/etc/machine-id');
  return 'f00dfeed0123\n';
};
const noFile = async () => {
  throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
};
const base = { uidHostname: false, hostname: () => 'ip-10-0-0-1', pid: 42 };

test('on ECS the node id is the task ARN from the metadata endpoint, plus the pid', async () => {
  const id = await resolveNodeId({ ...base, env: { ECS_CONTAINER_METADATA_URI_V4: `${metadataUri}/v4` }, readFile: machineId });
  assert.deepEqual(id, { id: `${TASK_ARN}:42`, host: 'ip-10-0-0-1', source: 'ecs-task' });
});

test('without ECS the machine id is used; without that, the hostname', async () => {
  assert.equal((await resolveNodeId({ ...base, env: {}, readFile: machineId })).id, 'f00dfeed0123:42');
  const fallback = await resolveNodeId({ ...base, env: {}, readFile: noFile });
  assert.deepEqual(fallback, { id: 'ip-10-0-0-1:42', host: 'ip-10-0-0-1', source: 'hostname' });
  const empty = await resolveNodeId({ ...base, env: {}, readFile: async () => '  \n' });
  assert.equal(empty.source, 'hostname', 'an empty machine-id is no id');
});

test('a metadata endpoint that fails or does not answer within the timeout falls back', async () => {
  const broken = await resolveNodeId({ ...base, env: { ECS_CONTAINER_METADATA_URI_V4: `${metadataUri}/broken` }, readFile: machineId });
  assert.equal(broken.source, 'machine-id');
  const started = Date.now();
  const slow = await resolveNodeId({
    ...base,
    env: { ECS_CONTAINER_METADATA_URI_V4: `${metadataUri}/slow` },
    readFile: machineId,
    metadataTimeoutMs: 200,
  });
  assert.equal(slow.source, 'machine-id');
  assert.ok(Date.now() - started < 5_000, 'gave up on the endpoint near its timeout');
});

test('--dfs-uid-hostname forces the hostname even on ECS', async () => {
  const id = await resolveNodeId({
    ...base,
    uidHostname: true,
    env: { ECS_CONTAINER_METADATA_URI_V4: `${metadataUri}/v4` },
    readFile: machineId,
  });
  assert.deepEqual(id, { id: 'ip-10-0-0-1:42', host: 'ip-10-0-0-1', source: 'hostname' });
});

test('by default the real process id and hostname are used', async () => {
  const id = await resolveNodeId({ env: {}, uidHostname: true });
  assert.ok(id.id.endsWith(`:${process.pid}`));
});
