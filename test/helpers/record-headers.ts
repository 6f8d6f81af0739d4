/** Observes what an S3 client puts on the wire, without replacing anything it does. */
import { subscribe } from 'node:diagnostics_channel';
import type { S3Client } from '@aws-sdk/client-s3';
import { directRequestChannel } from '../../src/remote/direct-http.js';

interface SentRequest {
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

/**
 * Calls `onRequest` with every request `client` sends (each attempt, after signing), through the
 * SDK's middleware or around it (bucket.ts's direct path): those end in the client's handler,
 * except the direct GETs, which are published on `directRequestChannel`.
 */
function tap(client: S3Client, onRequest: (request: SentRequest) => void): void {
  const handler = client.config.requestHandler as { handle: (request: SentRequest, ...rest: unknown[]) => unknown };
  const handle = handler.handle.bind(handler);
  handler.handle = (request, ...rest) => {
    onRequest(request);
    return handle(request, ...rest);
  };
  subscribe(directRequestChannel.name, (message) => {
    const sent = message as { client: S3Client; request: SentRequest };
    if (sent.client === client) onRequest(sent.request);
  });
}

/** The headers of every request `client` sends, in order. */
export function recordHeaders(client: S3Client): Record<string, string>[] {
  const sent: Record<string, string>[] = [];
  tap(client, (request) => sent.push({ ...request.headers }));
  return sent;
}

/** The text bodies `client` sends (XML documents such as CompleteMultipartUpload), in order. */
export function recordTextBodies(client: S3Client): string[] {
  const bodies: string[] = [];
  tap(client, (request) => {
    if (typeof request.body === 'string') bodies.push(request.body);
  });
  return bodies;
}
