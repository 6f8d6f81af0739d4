/**
 * Client settings every AWS SDK client of the sidecar shares (endpoint, region, profile, TLS,
 * timeouts), derived once from the `aws` options so S3 and CloudFront behave alike.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { ConfigError } from '../errors.js';
import type { AwsOptions } from '../config.js';

/** The subset of SDK client configuration built from `AwsOptions`. */
export interface AwsClientOptions {
  endpoint?: string;
  region?: string;
  profile?: string;
  requestHandler?: {
    httpsAgent?: Agent;
    requestTimeout?: number;
    connectionTimeout?: number;
  };
}

/**
 * SDK client options for `aws`, with `fallbackRegion` when none is configured (CloudFront is
 * global and signs for us-east-1). Credentials stay with the SDK's default provider chain.
 */
export function awsClientOptions(aws: AwsOptions, fallbackRegion?: string): AwsClientOptions {
  const options: AwsClientOptions = {};
  if (aws.endpointUrl) options.endpoint = aws.endpointUrl;
  const region = aws.region ?? fallbackRegion;
  if (region) options.region = region;
  if (aws.profile) options.profile = aws.profile;
  const handler: NonNullable<AwsClientOptions['requestHandler']> = {};
  if (!aws.verifySsl || aws.caBundle) {
    handler.httpsAgent = new Agent({
      keepAlive: true,
      rejectUnauthorized: aws.verifySsl,
      ...(aws.caBundle ? { ca: readCaBundle(aws.caBundle) } : {}),
    });
  }
  // aws CLI semantics: 0 means "no timeout", which is the SDK's 0 as well.
  if (aws.readTimeoutSeconds !== undefined) handler.requestTimeout = aws.readTimeoutSeconds * 1000;
  if (aws.connectTimeoutSeconds !== undefined) handler.connectionTimeout = aws.connectTimeoutSeconds * 1000;
  if (Object.keys(handler).length > 0) options.requestHandler = handler;
  return options;
}

function readCaBundle(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError('--ca-bundle', `cannot read ${path}: ${(err as Error).message}`);
  }
}
