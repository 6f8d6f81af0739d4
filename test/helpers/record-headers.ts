/** Observes what an S3 client puts on the wire, without replacing anything it does. */
import type { S3Client } from '@aws-sdk/client-s3';

/**
 * Records the headers of every request `client` sends (each attempt, after signing), through
 * the SDK's middleware or around it (bucket.ts's direct path): both end in the client's handler.
 */
export function recordHeaders(client: S3Client): Record<string, string>[] {
  const sent: Record<string, string>[] = [];
  const handler = client.config.requestHandler as { handle: (request: { headers: Record<string, string> }, ...rest: unknown[]) => unknown };
  const handle = handler.handle.bind(handler);
  handler.handle = (request, ...rest) => {
    sent.push({ ...request.headers });
    return handle(request, ...rest);
  };
  return sent;
}
