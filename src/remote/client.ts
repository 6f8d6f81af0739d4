/** Builds the one S3 client of the process from the `aws` global options (aws CLI semantics). */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { AwsOptions } from '../config.js';
import { requestHandlerOptions, type RequestHandlerOptions } from '../aws/http-handler.js';
import type { RawHttpSettings } from './raw-http.js';
import { MULTIPART_QUEUE_SIZE } from './transfer-limits.js';

/** Region used when neither `--region`, the environment nor the profile names one. */
export const DEFAULT_REGION = 'us-east-1';

/** Attempts per request (first try included), with the SDK's standard retry mode. */
export const MAX_ATTEMPTS = 5;

/** Sockets beyond the transfers' needs, so listing and lock renewals never queue behind them. */
const SPARE_SOCKETS = 8;

/** Clients built for `--no-sign-request`: requests sent around the SDK must stay unsigned too. */
const unsignedClients = new WeakSet<S3Client>();

/** The connection settings of the clients built here, for requests sent without the SDK's handler. */
const connectionSettings = new WeakMap<S3Client, RawHttpSettings>();

/** The TLS and timeout settings `client` was built with; undefined for a client built elsewhere. */
export function connectionSettingsOf(client: S3Client): RawHttpSettings | undefined {
  return connectionSettings.get(client);
}

/** Whether `client` was built to send anonymous (unsigned) requests. */
export function isUnsignedClient(client: S3Client): boolean {
  return unsignedClients.has(client);
}

/**
 * An S3 client configured like the aws CLI would be for the same options: endpoint (path-style),
 * region (falls back to us-east-1), profile, unsigned requests, TLS verification, CA bundle,
 * timeouts and standard retries; its keep-alive pool has a socket for every request `concurrency`
 * parallel transfers can have in flight (multipart parts included), plus spares.
 */
export function createS3Client(aws: AwsOptions, concurrency = 10): S3Client {
  const maxSockets = Math.max(1, concurrency) * MULTIPART_QUEUE_SIZE + SPARE_SOCKETS;
  const handler = requestHandlerOptions(aws, maxSockets);
  const config: S3ClientConfig = {
    region: aws.region ?? regionWithFallback(aws.profile),
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
    requestHandler: handler,
    // The SDK's default checksum middleware costs CPU per request; bucket.ts sets the checksums
    // itself (a CRC32 on every PUT and upload part, as the aws CLI sends it), which S3 checks the same way.
    requestChecksumCalculation: 'WHEN_REQUIRED',
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
  const client = new S3Client(config);
  if (!aws.signRequest) unsignedClients.add(client);
  connectionSettings.set(client, rawSettings(handler));
  return client;
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

function rawSettings(handler: RequestHandlerOptions): RawHttpSettings {
  return {
    connectTimeoutMs: handler.connectionTimeout,
    readTimeoutMs: handler.socketTimeout,
    rejectUnauthorized: handler.httpsAgent.rejectUnauthorized,
    ca: handler.httpsAgent.ca,
  };
}
