/** Observes what an SDK client puts on the wire, without replacing anything it does. */
import type { S3Client } from '@aws-sdk/client-s3';

/** Records the headers of every request `client` sends (each attempt, after signing). */
export function recordHeaders(client: S3Client): Record<string, string>[] {
  const sent: Record<string, string>[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      sent.push({ ...(args.request as { headers: Record<string, string> }).headers });
      return next(args);
    },
    { step: 'deserialize', name: 'testRecordHeaders' },
  );
  return sent;
}
