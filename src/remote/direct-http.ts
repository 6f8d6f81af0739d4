/**
 * Object requests sent around the SDK's middleware pipeline: SigV4-signed and sent on
 * raw-http.ts's connections (the client's TLS settings and timeouts, bodies read into one reused
 * buffer per connection), with the client's own retry strategy. The pipeline costs 2–4 ms of CPU
 * per request, several times the request itself; for thousands of small files that is most of a
 * sync's CPU. Only `bucket.ts` uses this, for single-request PUTs and GETs, upload parts and
 * listings; everything unusual goes back to the SDK.
 */
import { channel } from 'node:diagnostics_channel';
import type { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpRequest, RetryStrategyV2 } from '@smithy/types';
import { collect, type ChunkSource } from '../streams.js';
import { connectionSettingsOf, isUnsignedClient } from './client.js';
import { RawHttp, RawHttpUnsupported, type StreamedBody } from './raw-http.js';
import { retryKind, S3ResponseError } from './s3-errors.js';

/** One object request: the key (unencoded), method, query, headers and an optional body. */
export interface DirectRequest {
  readonly method: 'GET' | 'PUT';
  readonly key: string;
  /** Query parameters (an upload's part number and id). */
  readonly query?: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  /** In memory, or written from elsewhere (a file) chunk by chunk. */
  readonly body?: Buffer | SizedBody;
  /** Aborting it cuts the request off and stops its retries (the signal's reason is the error). */
  readonly signal?: AbortSignal;
}

/** A body written chunk by chunk, of a length known before it is sent. */
export interface SizedBody extends StreamedBody {
  readonly length: number;
}

/** A 2xx answer; the body is the live response (the caller pours or destroys it). */
export interface DirectResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: ChunkSource;
}

/**
 * The SDK must handle this request: a redirect to another region, a clock-skew complaint, or
 * anything else only its middleware knows how to deal with. `permanent` when no later direct
 * request to this bucket can succeed either.
 */
export class UseSdkInstead extends Error {
  constructor(readonly reason: string, readonly permanent: boolean) {
    super(`direct request declined: ${reason}`);
    this.name = 'UseSdkInstead';
  }
}

/**
 * Every direct request, signed, as `{ client, request }` (the S3Client and the HttpRequest, its
 * body left out): what tracing and the tests see of requests the SDK's handler never gets.
 */
export const directRequestChannel = channel('s3-sync2:direct-request');

/** Error codes that mean "the bucket is elsewhere": the SDK's region redirect handling follows them. */
const REGION_CODES = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'TemporaryRedirect']);
/** The SDK corrects its clock offset on these and retries. */
const CLOCK_CODES = new Set(['RequestTimeTooSkewed', 'RequestExpired', 'InvalidSignatureException', 'SignatureDoesNotMatch']);
/** Plain bucket names; access point ARNs, S3 Express and Outposts buckets stay with the SDK. */
const PLAIN_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** SHA-256 of an empty payload, as S3 expects it for a request without a body. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** Error bodies are small XML documents; anything longer is cut (only Code and Message are read). */
const MAX_ERROR_BODY = 64 * 1024;

interface Endpoint {
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  /** The URL path before the key: `/bucket` for path-style addressing, empty for virtual-hosted. */
  readonly basePath: string;
  readonly host: string;
}

/** Direct object requests to one bucket through `client`'s configuration. */
export class DirectHttp {
  private constructor(
    private readonly client: S3Client,
    private readonly endpoint: Endpoint,
    private readonly signer: SignatureV4 | null,
    private readonly retries: RetryStrategyV2,
    private readonly raw: RawHttp,
  ) {}

  /**
   * The direct path for `bucket`, or null when the SDK must keep every request: a bucket name
   * that is not a plain one, an endpoint that does not sign with plain SigV4 for `s3`, or a
   * client not built by `createS3Client` (its connection settings are unknown).
   */
  static async create(client: S3Client, bucket: string): Promise<DirectHttp | null> {
    if (!PLAIN_BUCKET.test(bucket) || bucket.endsWith('--x-s3') || bucket.endsWith('--ol-s3')) return null;
    const settings = connectionSettingsOf(client);
    if (settings === undefined) return null;
    const config = client.config;
    const region = await config.region();
    const custom = config.isCustomEndpoint ? await config.endpoint?.() : undefined;
    const resolved = config.endpointProvider({
      Bucket: bucket,
      Region: region,
      UseFIPS: await config.useFipsEndpoint(),
      UseDualStack: await config.useDualstackEndpoint(),
      ForcePathStyle: config.forcePathStyle,
      Accelerate: config.useAccelerateEndpoint,
      UseGlobalEndpoint: await resolveFlag(config.useGlobalEndpoint),
      DisableMultiRegionAccessPoints: config.disableMultiregionAccessPoints,
      Endpoint: custom ? `${custom.protocol}//${custom.hostname}${custom.port ? `:${custom.port}` : ''}${custom.path}` : undefined,
    });
    const scheme = (resolved.properties?.authSchemes as { name?: string; signingName?: string; signingRegion?: string }[] | undefined)?.[0];
    if (scheme && (scheme.name !== 'sigv4' || scheme.signingName !== 's3')) return null;
    const url = resolved.url;
    const endpoint: Endpoint = {
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      basePath: url.pathname.replace(/\/+$/, ''),
      host: url.host,
    };
    const signer = isUnsignedClient(client)
      ? null
      : new SignatureV4({
          credentials: config.credentials,
          region: scheme?.signingRegion ?? region,
          service: 's3',
          sha256: config.sha256,
          // S3 wants the key path signed exactly as sent (encoded once).
          uriEscapePath: false,
          applyChecksum: false,
        });
    const retries = (await config.retryStrategy()) as RetryStrategyV2;
    if (typeof retries.acquireInitialRetryToken !== 'function') return null;
    return new DirectHttp(client, endpoint, signer, retries, new RawHttp(settings));
  }

  /**
   * Sends `request` with the client's retries; resolves with a 2xx response, rejects with an
   * `S3ResponseError` (non-2xx), a network error, or `UseSdkInstead`. `onAttempt` runs once per
   * HTTP request actually sent.
   */
  send(request: DirectRequest, onAttempt: () => void): Promise<DirectResponse> {
    return this.retrying(() => this.attempt(request), onAttempt, request.signal);
  }

  /**
   * As `send`, with `read` run on the response inside each attempt, so a connection that breaks
   * while a body `read` takes whole arrives is retried like one that breaks before.
   */
  sendAndRead<T>(request: DirectRequest, onAttempt: () => void, read: (response: DirectResponse) => Promise<T>): Promise<T> {
    return this.retrying(async () => read(await this.attempt(request)), onAttempt, request.signal);
  }

  /** Runs `attempt` until it succeeds or the client's retry strategy gives up. */
  private async retrying<T>(attempt: () => Promise<T>, onAttempt: () => void, signal: AbortSignal | undefined): Promise<T> {
    let token = await this.retries.acquireInitialRetryToken('s3-direct');
    for (;;) {
      let failure: unknown;
      try {
        signal?.throwIfAborted();
        onAttempt();
        const result = await attempt();
        this.retries.recordSuccess(token);
        return result;
      } catch (err) {
        failure = err;
      }
      if (signal?.aborted) throw signal.reason;
      const errorType = failure instanceof UseSdkInstead ? null : retryKind(failure);
      if (errorType === null) throw failure;
      try {
        token = await this.retries.refreshRetryTokenForRetry(token, { errorType });
      } catch {
        throw failure;
      }
      await new Promise((resolve) => setTimeout(resolve, token.getRetryDelay()));
    }
  }

  private async attempt(request: DirectRequest): Promise<DirectResponse> {
    const { endpoint } = this;
    // S3 refuses a SigV4 request without x-amz-content-sha256 (the signer only hashes a body
    // that has none): bodies carry a CRC32 instead, GETs name the empty body's hash.
    const headers: Record<string, string> = {
      ...request.headers,
      host: endpoint.host,
      'x-amz-content-sha256': request.body === undefined ? EMPTY_SHA256 : 'UNSIGNED-PAYLOAD',
    };
    if (request.body !== undefined) headers['content-length'] = String(request.body.length);
    let httpRequest: HttpRequest = {
      method: request.method,
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port,
      path: `${endpoint.basePath}/${encodeKey(request.key)}`,
      query: { ...request.query },
      headers,
    };
    if (this.signer) {
      const signingDate = new Date(Date.now() + (this.client.config.systemClockOffset ?? 0));
      httpRequest = (await this.signer.sign(httpRequest, { signingDate })) as HttpRequest;
    }
    const answer = await this.sendSigned(httpRequest, request.body, request.signal);
    if (answer.statusCode >= 200 && answer.statusCode < 300) return answer;
    throw await this.failure(answer);
  }

  private async sendSigned(request: HttpRequest, body: Buffer | SizedBody | undefined, signal: AbortSignal | undefined): Promise<DirectResponse> {
    if (directRequestChannel.hasSubscribers) directRequestChannel.publish({ client: this.client, request });
    const query = Object.entries(request.query ?? {})
      .map(([name, value]) => `${escapeUri(name)}=${escapeUri(String(value))}`)
      .join('&');
    try {
      return await this.raw.request({
        method: request.method as DirectRequest['method'],
        protocol: request.protocol,
        hostname: request.hostname,
        port: request.port,
        path: query ? `${request.path}?${query}` : request.path,
        headers: request.headers,
        body: Buffer.isBuffer(body) ? { send: (write) => write(body) } : body,
        signal,
      });
    } catch (err) {
      if (err instanceof RawHttpUnsupported) throw new UseSdkInstead(err.message, false);
      throw err;
    }
  }

  /** The error of a non-2xx answer, its body read (and so released) first. */
  private async failure(response: DirectResponse): Promise<Error> {
    const text = await collect(response.body, undefined, MAX_ERROR_BODY)
      .then((bytes) => bytes.toString('utf8'))
      .catch(() => '');
    const code = xmlField(text, 'Code');
    const status = response.statusCode;
    if (status === 301 || status === 307 || (code !== undefined && REGION_CODES.has(code))) {
      return new UseSdkInstead(`${code ?? `HTTP ${status}`} (the bucket answers from another region)`, true);
    }
    if (code !== undefined && CLOCK_CODES.has(code)) return new UseSdkInstead(`${code} (clock skew correction)`, false);
    return new S3ResponseError(code, xmlField(text, 'Message'), status);
  }
}

/** A client setting that is a boolean or a provider of one. */
async function resolveFlag(value: boolean | (() => Promise<boolean | undefined>) | undefined): Promise<boolean | undefined> {
  return typeof value === 'function' ? value() : value;
}

/** Key path for the URL: every segment percent-encoded as the SDK does (RFC 3986 unreserved kept). */
function encodeKey(key: string): string {
  return key.split('/').map(escapeUri).join('/');
}

/** Percent-encoding as the SDK's signer and request handler do it. */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The text of `<name>` in an S3 error document, entities decoded. */
function xmlField(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  if (!match) return undefined;
  return match[1]!
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}
