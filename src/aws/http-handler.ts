/**
 * The HTTP settings every AWS SDK client of the sidecar shares (TLS verification, CA bundle,
 * timeouts, keep-alive), built once from the `aws` options with aws CLI semantics.
 */
import { readFileSync } from 'node:fs';
import type { AwsOptions } from '../config.js';
import { ConfigError, messageOf } from '../errors.js';

/** aws CLI default for `--cli-read-timeout` and `--cli-connect-timeout`, in seconds. */
export const DEFAULT_TIMEOUT_SECONDS = 60;

/** `requestHandler` options any SDK v3 client accepts (the SDK builds its NodeHttpHandler from them). */
export interface RequestHandlerOptions {
  readonly connectionTimeout: number;
  readonly socketTimeout: number;
  readonly httpAgent: { keepAlive: boolean; maxSockets: number };
  readonly httpsAgent: { keepAlive: boolean; maxSockets: number; rejectUnauthorized: boolean; ca?: Buffer };
}

/** The request handler options for `aws` with `maxSockets` kept-alive sockets per host. */
export function requestHandlerOptions(aws: AwsOptions, maxSockets: number): RequestHandlerOptions {
  return {
    connectionTimeout: toMs(aws.connectTimeoutSeconds),
    // The aws CLI's read timeout is a socket inactivity limit, which is `socketTimeout` here.
    socketTimeout: toMs(aws.readTimeoutSeconds),
    httpAgent: { keepAlive: true, maxSockets },
    httpsAgent: {
      keepAlive: true,
      maxSockets,
      rejectUnauthorized: aws.verifySsl,
      ...(aws.caBundle ? { ca: readCaBundle(aws.caBundle) } : {}),
    },
  };
}

function toMs(seconds: number | undefined): number {
  return Math.round((seconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000);
}

/** The CA bundle's bytes; an unreadable file is a `--ca-bundle` configuration error. */
export function readCaBundle(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError('--ca-bundle', `cannot read ${path}: ${messageOf(err)}`);
  }
}
