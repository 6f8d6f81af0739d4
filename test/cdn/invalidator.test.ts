import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CloudFrontClient,
  CreateDistributionCommand,
  GetInvalidationCommand,
  ListInvalidationsCommand,
} from '@aws-sdk/client-cloudfront';
import { randomBytes } from 'node:crypto';
import {
  CloudFrontInvalidator,
  createCloudFrontClient,
  type CdnLogger,
  type CloudFrontInvalidatorOptions,
} from '../../src/cdn/invalidator.js';
import { ConfigError, TransientError } from '../../src/errors.js';
import { LockWaitTimeoutError } from '../../src/lock/errors.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { TEST_CREDENTIALS, TEST_REGION, useS3 } from '../helpers/s3.js';
import { startProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

const s3 = useS3();
const proxies: FaultProxy[] = [];
after(async () => {
  for (const proxy of proxies) await proxy.close();
});

/** A raw CloudFront client on the moto endpoint, for arranging distributions and reading invalidations. */
function rawCloudFront(): CloudFrontClient {
  return new CloudFrontClient({ endpoint: s3().endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS });
}

/**
 * Creates a distribution whose only origin is `domain` (+ `originPath`); returns its id. An S3
 * origin unless `custom` (moto checks that an S3 origin names a bucket).
 */
async function createDistribution(domain: string, originPath = '', custom = false): Promise<string> {
  const cf = rawCloudFront();
  try {
    const out = await cf.send(
      new CreateDistributionCommand({
        DistributionConfig: {
          CallerReference: randomBytes(8).toString('hex'),
          Comment: 's3-sync2 test',
          Enabled: true,
          Origins: {
            Quantity: 1,
            Items: [
              {
                Id: 'origin',
                DomainName: domain,
                OriginPath: originPath,
                ...(custom
                  ? { CustomOriginConfig: { HTTPPort: 80, HTTPSPort: 443, OriginProtocolPolicy: 'https-only' } }
                  : { S3OriginConfig: { OriginAccessIdentity: '' } }),
              },
            ],
          },
          DefaultCacheBehavior: {
            TargetOriginId: 'origin',
            ViewerProtocolPolicy: 'allow-all',
            MinTTL: 0,
            ForwardedValues: { QueryString: false, Cookies: { Forward: 'none' } },
            TrustedSigners: { Enabled: false, Quantity: 0 },
          },
        },
      }),
    );
    return out.Distribution!.Id!;
  } finally {
    cf.destroy();
  }
}

/** The paths of every invalidation of the distribution, oldest first, each list sorted. */
async function invalidations(distributionId: string): Promise<string[][]> {
  const cf = rawCloudFront();
  try {
    const list = await cf.send(new ListInvalidationsCommand({ DistributionId: distributionId }));
    const items = [...(list.InvalidationList?.Items ?? [])].sort(
      (a, b) => (a.CreateTime?.getTime() ?? 0) - (b.CreateTime?.getTime() ?? 0),
    );
    const out: string[][] = [];
    for (const item of items) {
      const got = await cf.send(new GetInvalidationCommand({ DistributionId: distributionId, Id: item.Id! }));
      out.push([...(got.Invalidation?.InvalidationBatch?.Paths?.Items ?? [])].sort());
    }
    return out;
  } finally {
    cf.destroy();
  }
}

/** A logger that keeps what was logged, for asserting warnings and errors. */
function recordingLogger(): CdnLogger & { lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  const at = (level: string) => (_obj: object, msg: string) => void lines.push({ level, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

async function value(counter: Metrics['invalidations']): Promise<number> {
  return (await counter.get()).values[0]?.value ?? 0;
}

type Overrides = Partial<CloudFrontInvalidatorOptions> & Pick<CloudFrontInvalidatorOptions, 'distributionId' | 'bucket'>;

/** An initialised invalidator on the moto endpoint (or `endpoint`), prefix `app` unless given. */
async function invalidator(options: Overrides, endpoint = s3().endpoint): Promise<CloudFrontInvalidator> {
  const cdn = new CloudFrontInvalidator({
    client: createCloudFrontClient({ endpointUrl: endpoint, region: TEST_REGION, verifySsl: true, signRequest: true }),
    prefix: 'app',
    ...options,
  });
  await cdn.init();
  return cdn;
}

test('an origin without OriginPath: keys map to /key, each segment URL-encoded, one invalidation', async () => {
  const bucket = await s3().newBucket();
  const distributionId = await createDistribution(`${bucket}.s3.amazonaws.com`);
  const metrics = createMetrics({ withDefaults: false });
  const cdn = await invalidator({ distributionId, bucket, metrics });
  cdn.submit(['app/index.html', 'app/a b/ü.txt', 'app/q?x#y.txt']);
  await cdn.flush(10_000);
  cdn.close();
  assert.deepEqual(await invalidations(distributionId), [
    ['/app/a%20b/%C3%BC.txt', '/app/index.html', '/app/q%3Fx%23y.txt'],
  ]);
  assert.equal(await value(metrics.invalidations), 1);
  assert.equal(await value(metrics.invalidationPaths), 3);
  assert.equal(await value(metrics.invalidationWildcards), 0);
});

test('an origin with OriginPath: the OriginPath is stripped and keys outside it are not invalidated', async () => {
  const bucket = await s3().newBucket();
  const distributionId = await createDistribution(`${bucket}.s3.us-east-1.amazonaws.com`, '/app');
  const cdn = await invalidator({ distributionId, bucket });
  cdn.submit(['app/index.html', 'app/css/site.css', 'other/x.txt']);
  await cdn.flush(10_000);
  cdn.submit(['other/only-unserved.txt']);
  await cdn.flush(10_000);
  cdn.close();
  assert.deepEqual(await invalidations(distributionId), [['/css/site.css', '/index.html']]);
});

test('--cf-path-prefix overrides the mapping from the origin', async () => {
  const bucket = await s3().newBucket();
  const distributionId = await createDistribution(`${bucket}.s3.amazonaws.com`, '/site');
  const cdn = await invalidator({ distributionId, bucket, pathPrefix: '/static' });
  cdn.submit(['app/js/main.js']);
  await cdn.flush(10_000);
  cdn.close();
  assert.deepEqual(await invalidations(distributionId), [['/static/js/main.js']]);
});

test('no origin reads from the bucket: a warning, and keys map to URL paths as they are', async () => {
  const bucket = await s3().newBucket();
  const distributionId = await createDistribution('shop.example.com', '', true);
  const logger = recordingLogger();
  const cdn = await invalidator({ distributionId, bucket, logger });
  cdn.submit(['app/a.js']);
  await cdn.flush(10_000);
  cdn.close();
  assert.deepEqual(await invalidations(distributionId), [['/app/a.js']]);
  assert.ok(logger.lines.some((l) => l.level === 'warn' && l.msg.includes(`no origin reading from bucket ${bucket}`)));
});

test('collapse: a folder past --cf-max-paths becomes one wildcard; past the second bound, /*', async () => {
  const bucket = await s3().newBucket();
  const distributionId = await createDistribution(`${bucket}.s3.amazonaws.com`, '/app');
  const metrics = createMetrics({ withDefaults: false });
  const cdn = await invalidator({ distributionId, bucket, metrics, maxPathsPerFolder: 10 });
  const images = Array.from({ length: 11 }, (_, i) => `app/img/p${i}.png`);
  cdn.submit([...images, 'app/index.html', 'app/docs/a.html']);
  await cdn.flush(10_000);
  cdn.close();
  assert.deepEqual(await invalidations(distributionId), [['/docs/a.html', '/img/*', '/index.html']]);
  assert.equal(await value(metrics.invalidationWildcards), 1);
  assert.equal(await value(metrics.invalidationPaths), 3);

  const wide = await createDistribution(`${bucket}.s3.amazonaws.com`, '/app');
  const bounded = await invalidator({ distributionId: wide, bucket, maxPathsPerFolder: 10, maxTotalPaths: 5 });
  bounded.submit(Array.from({ length: 6 }, (_, i) => `app/d${i}/f.txt`));
  await bounded.flush(10_000);
  bounded.close();
  assert.deepEqual(await invalidations(wide), [['/*']]);
});

test('explicit paths (--cf-inval-paths): exactly those, whenever a tick changed anything', async () => {
  const bucket = await s3().newBucket();
  const distributionId = await createDistribution(`${bucket}.s3.amazonaws.com`);
  const cdn = await invalidator({ distributionId, bucket, explicitPaths: ['/index.html', '/assets/*'] });
  cdn.submit([]);
  await cdn.flush(10_000);
  assert.deepEqual(await invalidations(distributionId), []);
  cdn.submit(['app/somewhere/else.txt', 'not/even/served']);
  await cdn.flush(10_000);
  cdn.close();
  assert.deepEqual(await invalidations(distributionId), [['/assets/*', '/index.html']]);
});

test('a bad distribution id is a clear start-up error', async () => {
  const bucket = await s3().newBucket();
  await assert.rejects(
    invalidator({ distributionId: 'E0NOSUCHDIST', bucket }),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.option === '--cf-dist-id' &&
      err.message === '--cf-dist-id: distribution E0NOSUCHDIST not found (check the id and the AWS account)',
  );
});

test('a distribution CloudFront cannot answer for now (503) is a TransientError, which start-up tries again; once it answers, init works', async () => {
  const bucket = await s3().newBucket();
  const distributionId = await createDistribution(`${bucket}.s3.amazonaws.com`);
  let failing = true;
  const proxy = await startProxy(s3().endpoint, {
    answer: () => (failing ? { status: 503, body: '<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>' } : undefined),
  });
  after(() => proxy.stop());
  await assert.rejects(
    invalidator({ distributionId, bucket }, proxy.url),
    (err: unknown) => err instanceof TransientError && err.message.startsWith(`read CloudFront distribution ${distributionId}:`),
  );
  failing = false;
  const cdn = await invalidator({ distributionId, bucket }, proxy.url);
  cdn.close();
});

test('missing credentials are not a transient failure: start-up does not wait for them', async () => {
  const bucket = await s3().newBucket();
  const distributionId = await createDistribution(`${bucket}.s3.amazonaws.com`);
  const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
  const client = new CloudFrontClient({ endpoint: s3().endpoint, region: TEST_REGION, credentials: () => Promise.reject(noCredentials) });
  after(() => client.destroy());
  const cdn = new CloudFrontInvalidator({ client, distributionId, bucket, prefix: 'app' });
  await assert.rejects(cdn.init(), (err: unknown) => !(err instanceof TransientError) && /Could not load credentials/.test(String(err)));
});

test('one invalidation in flight at a time; later ticks merge into the next batch', async () => {
  const bucket = await s3().newBucket();
  const distributionId = await createDistribution(`${bucket}.s3.amazonaws.com`, '/app');
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const proxy = await startFaultProxy(s3().endpoint, (n) => (n === 1 ? { kind: 'hold', release: held } : { kind: 'pass' }));
  proxies.push(proxy);
  const cdn = await invalidator({ distributionId, bucket }, proxy.endpoint);
  cdn.submit(['app/first.txt']);
  await waitFor('the first invalidation to reach the endpoint', () => proxy.invalidationRequests === 1);
  cdn.submit(['app/second.txt']);
  cdn.submit(['app/third.txt']);
  release();
  await cdn.flush(10_000);
  cdn.close();
  assert.equal(proxy.maxConcurrentInvalidations, 1);
  assert.deepEqual(await invalidations(distributionId), [['/first.txt'], ['/second.txt', '/third.txt']]);
});

test('TooManyInvalidationsInProgress is retried with backoff, merging paths submitted meanwhile', async () => {
  const bucket = await s3().newBucket();
  const distributionId = await createDistribution(`${bucket}.s3.amazonaws.com`, '/app');
  const proxy = await startFaultProxy(s3().endpoint, (n) =>
    n <= 2 ? { kind: 'error', status: 400, code: 'TooManyInvalidationsInProgress' } : { kind: 'pass' },
  );
  proxies.push(proxy);
  const delays: number[] = [];
  let wake!: () => void;
  const metrics = createMetrics({ withDefaults: false });
  const cdn = await invalidator(
    {
      distributionId,
      bucket,
      metrics,
      random: () => 1,
      retry: { baseDelayMs: 1000, maxDelayMs: 60_000 },
      sleep: (ms) => {
        delays.push(ms);
        return new Promise<void>((resolve) => (wake = resolve));
      },
    },
    proxy.endpoint,
  );
  cdn.submit(['app/a.txt']);
  await waitFor('the first backoff', () => delays.length === 1);
  cdn.submit(['app/b.txt']);
  wake();
  await waitFor('the second backoff', () => delays.length === 2);
  cdn.submit(['app/c.txt']);
  wake();
  await cdn.flush(10_000);
  cdn.close();
  assert.deepEqual(delays, [1000, 2000], 'exponential backoff');
  assert.equal(proxy.invalidationRequests, 3);
  assert.deepEqual(await invalidations(distributionId), [['/a.txt', '/b.txt', '/c.txt']]);
  assert.equal(await value(metrics.invalidations), 1);
  assert.equal(await value(metrics.invalidationFailures), 0);
});

test('other failures are counted and logged, never thrown; the next tick invalidates again', async () => {
  const bucket = await s3().newBucket();
  const distributionId = await createDistribution(`${bucket}.s3.amazonaws.com`, '/app');
  const proxy = await startFaultProxy(s3().endpoint, (n) =>
    n === 1 ? { kind: 'error', status: 403, code: 'AccessDenied' } : { kind: 'pass' },
  );
  proxies.push(proxy);
  const metrics = createMetrics({ withDefaults: false });
  const logger = recordingLogger();
  const cdn = await invalidator({ distributionId, bucket, metrics, logger }, proxy.endpoint);
  cdn.submit(['app/a.txt']);
  await cdn.flush(10_000);
  assert.equal(await value(metrics.invalidationFailures), 1);
  assert.equal(proxy.invalidationRequests, 1, 'access denied is not retried');
  const error = logger.lines.find((l) => l.level === 'error');
  assert.match(error?.msg ?? '', /create invalidation on .*AccessDenied|needs cloudfront:CreateInvalidation/);
  cdn.submit(['app/b.txt']);
  await cdn.flush(10_000);
  cdn.close();
  assert.deepEqual(await invalidations(distributionId), [['/b.txt']]);
});

test('--dfs: each CreateInvalidation runs inside the lock; a lock wait that runs out is retried, not dropped', async () => {
  const bucket = await s3().newBucket();
  const distributionId = await createDistribution(`${bucket}.s3.amazonaws.com`, '/app');
  const metrics = createMetrics({ withDefaults: false });
  const turns: string[] = [];
  const cdn = await invalidator({
    distributionId,
    bucket,
    metrics,
    random: () => 1,
    sleep: async () => undefined,
    exclusive: async (call) => {
      if (turns.length === 0) {
        turns.push('refused');
        throw new LockWaitTimeoutError('app/.s3-sync2.lock', null, 2000);
      }
      turns.push('held');
      return call();
    },
  });
  cdn.submit(['app/a.txt']);
  await cdn.flush(10_000);
  cdn.close();
  assert.deepEqual(turns, ['refused', 'held'], 'nothing is sent without the lock, and the refusal is retried');
  assert.deepEqual(await invalidations(distributionId), [['/a.txt']]);
  assert.equal(await value(metrics.invalidationFailures), 0);
});
