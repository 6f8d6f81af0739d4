import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { AwsOptions } from '../../src/config.js';
import { AccessError, ConfigError, SyncError, TransientError } from '../../src/errors.js';
import { createS3Client, DEFAULT_REGION, MAX_ATTEMPTS, S3Bucket } from '../../src/remote/bucket.js';
import { startProxy } from '../helpers/proxy.js';
import { recordHeaders } from '../helpers/record-headers.js';
import { bodyBytes, TEST_REGION, useS3 } from '../helpers/s3.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort } from '../../scripts/moto.mjs';

const s3 = useS3();

function awsOptions(overrides: Partial<AwsOptions> = {}): AwsOptions {
  return { endpointUrl: s3().endpoint, region: TEST_REGION, verifySsl: true, signRequest: true, ...overrides };
}

async function listening<T extends Server>(server: T): Promise<T> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const portOf = (server: Server): number => (server.address() as AddressInfo).port;

/** A self-signed certificate for 127.0.0.1 in a temp folder. */
async function selfSignedCert(): Promise<{ certPath: string; key: Buffer; cert: Buffer }> {
  const dir = await tempDir('tls');
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyPath, '-out', certPath,
  ], { stdio: 'ignore' });
  return { certPath, key: readFileSync(keyPath), cert: readFileSync(certPath) };
}

test('TLS: a self-signed endpoint is refused unless --no-verify-ssl or --ca-bundle trusts it', async () => {
  const name = await s3().newBucket();
  await s3().putText(name, 'k', 'v');
  const tls = await selfSignedCert();
  // HTTPS in front of moto, so the TLS options meet a real S3 API.
  const proxy = await startProxy(s3().endpoint, { tls });
  const endpointUrl = proxy.url;
  const clients: S3Client[] = [];
  const bucketWith = (o: Partial<AwsOptions>): S3Bucket => {
    const client = createS3Client(awsOptions({ endpointUrl, ...o }));
    clients.push(client);
    return new S3Bucket(client, name);
  };
  try {
    await assert.rejects(bucketWith({}).list(''), (err) => {
      assert.ok(err instanceof SyncError);
      assert.match(err.message, /^list \(bucket root\): .*self[- ]signed/i);
      return true;
    });
    await assert.rejects(bucketWith({}).read('k'), /^SyncError: get k: .*self[- ]signed/i);
    assert.deepEqual((await bucketWith({ verifySsl: false }).list('')).map((o) => o.key), ['k']);
    const trusted = bucketWith({ caBundle: tls.certPath });
    assert.deepEqual((await trusted.list('')).map((o) => o.key), ['k']);
    // Object bodies over TLS, small (read whole) and large (poured through the reused read buffer).
    const large = randomBytes(3 * 1024 * 1024 + 5);
    await trusted.write('large', large, large.length, {});
    assert.equal((await bodyBytes(await trusted.read('k'))).toString(), 'v');
    assert.ok((await bodyBytes(await trusted.read('large'))).equals(large), 'the large body arrives intact over TLS');
    assert.throws(
      () => createS3Client(awsOptions({ caBundle: join(tls.certPath, 'missing') })),
      (err) => err instanceof ConfigError && err.option === '--ca-bundle',
    );
  } finally {
    for (const client of clients) client.destroy();
    proxy.stop();
  }
});

test('--no-sign-request: unsigned requests read a public-read object and are refused a private one', async () => {
  const name = await s3().newBucket();
  const anonymous = createS3Client(awsOptions({ signRequest: false }));
  const signed = createS3Client(awsOptions());
  const anonymousHeaders = recordHeaders(anonymous);
  const signedHeaders = recordHeaders(signed);
  const owner = new S3Bucket(signed, name);
  const body = Buffer.from('hi');
  await owner.write('public.txt', body, body.length, { ifNoneMatch: true }, { acl: 'public-read' });
  await owner.write('private.txt', body, body.length, { ifNoneMatch: true });
  assert.match(signedHeaders[0]!.authorization ?? '', /^AWS4-HMAC-SHA256 /);

  const visitor = new S3Bucket(anonymous, name);
  assert.equal((await visitor.readSmall('public.txt'))?.body.toString(), 'hi');
  await assert.rejects(visitor.readSmall('private.txt'), AccessError);
  assert.equal(anonymousHeaders.length, 2);
  for (const headers of anonymousHeaders) assert.equal(headers.authorization, undefined);
  anonymous.destroy();
  signed.destroy();
});

// HEAD goes through the SDK, GET on the direct path (bucket.ts): both keep the timeout and the retries.
for (const [verb, call] of [
  ['head', (bucket: S3Bucket) => bucket.head('k')],
  ['get', (bucket: S3Bucket) => bucket.read('k')],
] as const) {
  test(`a silent endpoint times out per attempt (--cli-read-timeout), is retried, then is a TransientError (${verb})`, async () => {
    const sockets = new Set<Socket>();
    const silent = await listening(createServer((socket) => sockets.add(socket)));
    const client = createS3Client(awsOptions({ endpointUrl: `http://127.0.0.1:${portOf(silent)}`, readTimeoutSeconds: 0.2 }));
    const bucket = new S3Bucket(client, 'any-bucket');
    try {
      await assert.rejects(call(bucket), (err) => {
        assert.ok(err instanceof TransientError, `TransientError expected, got ${String(err)}`);
        assert.match(err.message, new RegExp(`^${verb} k: .*timed out`, 'i'));
        return true;
      });
      assert.equal(bucket.requestCount, MAX_ATTEMPTS, 'every attempt is counted');
      assert.equal(sockets.size, MAX_ATTEMPTS);
    } finally {
      client.destroy();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
}

test('a refused connection is a TransientError after the retries', async () => {
  const client = createS3Client(awsOptions({ endpointUrl: `http://127.0.0.1:${await freePort()}` }));
  const bucket = new S3Bucket(client, 'any-bucket');
  await assert.rejects(bucket.list('p'), (err) => err instanceof TransientError && /^list p\/: /.test(err.message));
  assert.equal(bucket.requestCount, MAX_ATTEMPTS);
  client.destroy();
});

test('region: --region wins; without any, us-east-1', async () => {
  assert.equal(await createS3Client(awsOptions({ region: 'eu-west-3' })).config.region(), 'eu-west-3');
  const saved = { ...process.env };
  try {
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[name];
    process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';
    assert.equal(await createS3Client(awsOptions({ region: undefined })).config.region(), DEFAULT_REGION);
    process.env.AWS_REGION = 'ap-south-1';
    assert.equal(await createS3Client(awsOptions({ region: undefined })).config.region(), 'ap-south-1');
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
});
