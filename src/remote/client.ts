/** Builds the one S3 client of the process from the `aws` global options (aws CLI semantics). */
import { readFileSync } from 'node:fs';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { AwsOptions } from '../config.js';
import { ConfigError } from '../errors.js';

/** Region used when neither `--region`, the environment nor the profile names one. */
export const DEFAULT_REGION = 'us-east-1';

/** aws CLI default for `--cli-read-timeout` and `--cli-connect-timeout`, in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 60;

/** Attempts per request (first try included), with the SDK's standard retry mode. */
export const MAX_ATTEMPTS = 5;

/** Tuning that is not a user option. */
export interface ClientTuning {
  /** Sockets kept per host; size it for transfer concurrency × multipart queue size. Default 50. */
  readonly maxSockets?: number;
}

/**
 * An S3 client configured like the aws CLI would be for the same options: endpoint (path-style),
 * region (falls back to us-east-1), profile, unsigned requests, TLS verification, CA bundle,
 * timeouts, keep-alive sockets and standard retries.
 */
export function createS3Client(aws: AwsOptions, tuning: ClientTuning = {}): S3Client {
  const config: S3ClientConfig = {
    region: aws.region ?? regionWithFallback(aws.profile),
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: toMs(aws.connectTimeoutSeconds),
      // The aws CLI's read timeout is a socket inactivity limit, which is `socketTimeout` here.
      socketTimeout: toMs(aws.readTimeoutSeconds),
      httpAgent: { keepAlive: true, maxSockets: tuning.maxSockets ?? 50 },
      httpsAgent: {
        keepAlive: true,
        maxSockets: tuning.maxSockets ?? 50,
        rejectUnauthorized: aws.verifySsl,
        ...(aws.caBundle ? { ca: readCaBundle(aws.caBundle) } : {}),
      },
    },
  };
  if (aws.endpointUrl) {
    config.endpoint = aws.endpointUrl;
    // Custom endpoints (MinIO, moto, LocalStack) rarely serve virtual-hosted bucket names.
    config.forcePathStyle = true;
  } else {
    // A bucket in another region answers 301; let the SDK follow instead of failing.
    config.followRegionRedirects = true;
  }
  if (aws.profile) config.profile = aws.profile;
  if (!aws.signRequest) {
    // Anonymous access (`--no-sign-request`): a signer that leaves the request untouched. Static
    // dummy credentials keep the SDK from searching the credential chain; they are never sent.
    config.credentials = { accessKeyId: 'anonymous', secretAccessKey: 'anonymous' };
    config.signer = { sign: async (request) => request };
  }
  return new S3Client(config);
}

function toMs(seconds: number | undefined): number {
  return Math.round((seconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000);
}

function readCaBundle(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError('--ca-bundle', `cannot read ${path}: ${(err as Error).message}`);
  }
}

/**
 * The SDK's own region chain (AWS_REGION, the profile's `region`), then us-east-1 instead of the
 * SDK's "Region is missing" error. A bare client exposes that chain without importing its parts.
 */
function regionWithFallback(profile: string | undefined): () => Promise<string> {
  const probe = new S3Client(profile ? { profile } : {});
  let resolved: Promise<string> | undefined;
  return () => (resolved ??= probe.config.region().catch(() => DEFAULT_REGION));
}
