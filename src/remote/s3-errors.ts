/** Translates AWS SDK failures into the domain errors of `errors.ts`, once, at the S3 boundary. */
import {
  AccessError,
  ConditionalConflictError,
  NotFoundError,
  PreconditionFailedError,
  SyncError,
  TransientError,
} from '../errors.js';

/** The fields of an SDK (or network) error this module looks at. */
interface AwsErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const CREDENTIAL_ERRORS = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'CredentialsProviderError',
]);
const REGION_ERRORS = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException']);
const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);
const TRANSIENT_STATUSES = new Set([500, 502, 503, 504]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** A non-2xx S3 answer to a request sent without the SDK, shaped like the SDK's own errors. */
export class S3ResponseError extends Error {
  readonly $metadata: { readonly httpStatusCode: number };

  constructor(code: string | undefined, message: string | undefined, status: number) {
    // No error document (HEAD, some proxies): the status speaks, as for the SDK's UnknownError.
    super(message ?? (code === undefined ? 'UnknownError' : code));
    this.name = code ?? 'UnknownError';
    this.$metadata = { httpStatusCode: status };
  }
}

/**
 * How a failed attempt should be retried, in the SDK retry strategy's words, or null when it
 * should not be: throttling, 500/502/503/504, S3's RequestTimeout and network failures are retried.
 */
export function retryKind(err: unknown): 'THROTTLING' | 'TRANSIENT' | null {
  const e = (err ?? {}) as AwsErrorShape;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (THROTTLING.has(name) || status === 429) return 'THROTTLING';
  // The statuses and codes the SDK's own retry middleware calls transient.
  if (status !== undefined && TRANSIENT_STATUSES.has(status)) return 'TRANSIENT';
  if (name === 'RequestTimeout' || name === 'TimeoutError') return 'TRANSIENT';
  if (status === undefined && e.code !== undefined && NETWORK_CODES.has(e.code)) return 'TRANSIENT';
  return null;
}

/** Where a failed call happened: `verb key` in messages, and the bucket for hints. */
export interface CallSite {
  readonly verb: string;
  readonly key: string;
  readonly bucket: string;
}

/**
 * The domain error for an SDK failure: 412 → PreconditionFailedError, 409 conditional conflict →
 * ConditionalConflictError, 404 on the key → NotFoundError, credentials / missing bucket / wrong
 * region → AccessError with a hint, throttling / 500, 502-504 / network → TransientError, else SyncError.
 */
export function translateS3Error(err: unknown, at: CallSite): SyncError {
  if (err instanceof SyncError) return err;
  const e = (err ?? {}) as AwsErrorShape;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const cause = describe(e, name, status, err);
  const message = (hint?: string): string => `${at.verb} ${at.key}: ${cause}${hint ? ` (${hint})` : ''}`;

  if (status === 412 || name === 'PreconditionFailed') return new PreconditionFailedError(at.key, { cause: err });
  if (name === 'ConditionalRequestConflict' || (status === 409 && name !== 'OperationAborted')) {
    return new ConditionalConflictError(at.key, { cause: err });
  }
  if (name === 'NoSuchBucket') return new AccessError(message(`bucket ${at.bucket} does not exist`), { cause: err });
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new NotFoundError(at.key, { cause: err });
  if (REGION_ERRORS.has(name) || status === 301) {
    return new AccessError(message(`bucket ${at.bucket} is in another region: check --region`), { cause: err });
  }
  // A 403 too, but no permission would help: the object must be restored first.
  if (name === 'InvalidObjectState') {
    return new AccessError(message('the object is archived (Glacier, Deep Archive): restore it to sync it'), { cause: err });
  }
  if (CREDENTIAL_ERRORS.has(name) || status === 403 || status === 401) {
    return new AccessError(message('check the task role / credentials'), { cause: err });
  }
  // What the retries call transient (so never a 501: a feature the store lacks, such as the
  // conditional headers), and what S3 or the SDK marks as worth another try.
  if (retryKind(err) !== null || name === 'OperationAborted' || e.$retryable) return new TransientError(message(), { cause: err });
  return new SyncError(message(), { cause: err });
}

/** `Code: message`, or the HTTP status when the SDK could not parse an error body (HEAD has none). */
function describe(e: AwsErrorShape, name: string, status: number | undefined, err: unknown): string {
  if ((name === 'Unknown' || name === 'UnknownError' || e.message === 'UnknownError') && status !== undefined) {
    return `HTTP ${status}`;
  }
  return `${name && name !== 'Error' ? `${name}: ` : ''}${e.message ?? String(err)}`;
}
