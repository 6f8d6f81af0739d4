import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { lockKey } from '../../src/lock/lock-object.js';

interface Statement {
  Sid?: string;
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: string | string[];
  NotResource?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}

const policy = JSON.parse(readFileSync('deploy/iam-policy.json', 'utf8')) as { Version: string; Statement: Statement[] };
const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

// The placeholders the README tells the user to replace.
const BUCKET = 'EXAMPLE-BUCKET';
const PREFIX = 'app/data';
const DISTRIBUTION_ARN = 'arn:aws:cloudfront::ACCOUNT_ID:distribution/DISTRIBUTION_ID';

/** IAM's wildcard match (`*` any run, `?` one character). */
function iamMatch(pattern: string, value: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(value);
}

/** Whether the policy allows `action` on `resource`, with `prefix` as the request's s3:prefix. */
function allows(action: string, resource: string, prefix?: string): boolean {
  return policy.Statement.some((s) => {
    if (s.Effect !== 'Allow') return false;
    if (!list(s.Action).some((a) => iamMatch(a, action))) return false;
    if (!list(s.Resource).some((r) => iamMatch(r, resource))) return false;
    const like = s.Condition?.StringLike?.['s3:prefix'];
    return like === undefined || (prefix !== undefined && list(like).some((p) => iamMatch(p, prefix)));
  });
}

// The IAM actions each S3 or CloudFront call of the sidecar needs (the direct PUT/GET path of
// bucket.ts sends the same PutObject / UploadPart / GetObject requests as the SDK fallback next to it).
const IAM_ACTIONS: Record<string, string[]> = {
  ListObjectsV2: ['s3:ListBucket'],
  GetObject: ['s3:GetObject'],
  HeadObject: ['s3:GetObject'],
  PutObject: ['s3:PutObject'],
  CopyObject: ['s3:GetObject', 's3:PutObject'],
  DeleteObject: ['s3:DeleteObject'],
  CreateMultipartUpload: ['s3:PutObject'],
  UploadPart: ['s3:PutObject'],
  CompleteMultipartUpload: ['s3:PutObject'],
  AbortMultipartUpload: ['s3:AbortMultipartUpload'],
  GetDistribution: ['cloudfront:GetDistribution'],
  CreateInvalidation: ['cloudfront:CreateInvalidation'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

test('IAM policy: valid structure, Allow statements only', () => {
  assert.equal(policy.Version, '2012-10-17');
  assert.ok(policy.Statement.length > 0);
  for (const s of policy.Statement) {
    assert.equal(s.Effect, 'Allow', s.Sid);
    assert.ok(s.Sid && /^[A-Za-z0-9]+$/.test(s.Sid), 'an alphanumeric Sid');
    assert.equal(s.NotAction, undefined, 'no NotAction');
    assert.equal(s.NotResource, undefined, 'no NotResource');
  }
});

test('IAM policy: least privilege — no wildcard actions, no Resource "*", S3 only on the bucket and prefix', () => {
  for (const s of policy.Statement) {
    for (const action of list(s.Action)) assert.ok(!action.includes('*'), `${s.Sid}: action ${action}`);
    for (const resource of list(s.Resource)) {
      assert.notEqual(resource, '*', `${s.Sid}: Resource "*"`);
      if (resource.startsWith('arn:aws:s3:')) {
        assert.ok([`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/${PREFIX}/*`].includes(resource), resource);
      } else {
        assert.equal(resource, DISTRIBUTION_ARN);
      }
    }
  }
  assert.ok(!allows('s3:GetObject', `arn:aws:s3:::${BUCKET}/other/file.txt`), 'nothing outside the prefix');
  assert.ok(!allows('s3:ListBucket', `arn:aws:s3:::${BUCKET}`, 'other/'), 'no listing outside the prefix');
  assert.ok(!allows('s3:ListBucket', `arn:aws:s3:::${BUCKET}`), 'no listing of the whole bucket');
  assert.ok(!allows('s3:DeleteBucket', `arn:aws:s3:::${BUCKET}`));
  assert.ok(!allows('cloudfront:CreateInvalidation', 'arn:aws:cloudfront::ACCOUNT_ID:distribution/OTHER'));
});

test('IAM policy: allows what the sidecar does — list the prefix, objects and the lock, invalidations', () => {
  assert.ok(allows('s3:ListBucket', `arn:aws:s3:::${BUCKET}`, `${PREFIX}/`), 'listing with Prefix=<prefix>/');
  for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload']) {
    assert.ok(allows(action, `arn:aws:s3:::${BUCKET}/${PREFIX}/sub/file.txt`), action);
    assert.ok(allows(action, `arn:aws:s3:::${BUCKET}/${lockKey(PREFIX)}`), `${action} on the lock object`);
  }
  for (const action of ['cloudfront:GetDistribution', 'cloudfront:CreateInvalidation']) {
    assert.ok(allows(action, DISTRIBUTION_ARN), action);
  }
});

test('IAM policy: every AWS call in src/ is covered (a new call needs a policy update)', () => {
  const calls = new Set<string>();
  for (const file of sourceFiles('src')) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bnew ([A-Z][A-Za-z0-9]+)Command\(/g)) calls.add(m[1]!);
  }
  assert.ok(calls.has('ListObjectsV2') && calls.has('CreateInvalidation'), 'the scan finds the calls');
  const granted = new Set(policy.Statement.flatMap((s) => list(s.Action)));
  for (const call of calls) {
    const needed = IAM_ACTIONS[call];
    assert.ok(needed, `${call}: add its IAM actions to IAM_ACTIONS here and to deploy/iam-policy.json`);
    for (const action of needed) assert.ok(granted.has(action), `${call} needs ${action}`);
  }
});
