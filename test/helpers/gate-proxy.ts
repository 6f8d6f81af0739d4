/**
 * A forwarding proxy with a gate: while closed, requests are held unanswered (a stalled store);
 * opening it forwards them. Lets tests make S3 hang at a chosen moment without stubbing a client.
 */
import { after } from 'node:test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwardRequest } from './proxy.js';

/** A running gate proxy (stopped after the calling test or file). */
export interface GateProxy {
  readonly url: string;
  /** Requests held right now. */
  readonly held: number;
  /** Requests received so far. */
  readonly received: number;
  /** From now on, hold every request (or only those `which` picks). */
  close(which?: (req: http.IncomingMessage) => boolean): void;
  /** Forward everything, the held requests first. */
  open(): void;
  stop(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 to `target` (http://), with the gate `initially` open or closed. */
export async function startGateProxy(target: string, initially: 'open' | 'closed' = 'open'): Promise<GateProxy> {
  let open = initially === 'open';
  let holds: (req: http.IncomingMessage) => boolean = () => true;
  let received = 0;
  const waiting: (() => void)[] = [];
  const forward = (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Held, then given up by its client: nothing to forward.
    if (req.destroyed && !req.complete) return;
    forwardRequest(target, req, res);
  };
  const server = http.createServer((req, res) => {
    received++;
    if (open || !holds(req)) forward(req, res);
    else waiting.push(() => forward(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let stopped = false;
  const proxy: GateProxy = {
    url: `http://127.0.0.1:${port}`,
    get held() {
      return waiting.length;
    },
    get received() {
      return received;
    },
    close: (which = () => true) => {
      holds = which;
      open = false;
    },
    open: () => {
      open = true;
      for (const go of waiting.splice(0)) go();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  after(() => proxy.stop());
  return proxy;
}
