import type { Readable } from 'node:stream';

export declare const MOTO_INSTALL_HINT: string;
export declare function freePort(): Promise<number>;
export declare function assertMotoInstalled(): void;
export declare function startMoto(options?: {
  port?: number;
  quiet?: boolean;
  serial?: boolean;
  routingCache?: boolean;
  ownProcessGroup?: boolean;
  accessLog?: boolean;
}): Promise<{
  endpoint: string;
  stop: () => Promise<void>;
  pid: number | undefined;
  /** moto's stderr (one line per request), when started with `accessLog: true`; else null. */
  accessLog: Readable | null;
}>;
