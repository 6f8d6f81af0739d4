/** The process logger: pino JSON lines on stdout, level from --debug. */
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

const PINO_LEVEL: Record<LogLevel, string> = {
  ERROR: 'error',
  WARN: 'warn',
  INFO: 'info',
  DEBUG: 'debug',
  NONE: 'silent',
};

/** Creates the root logger for a --debug level. */
export function createLogger(level: LogLevel): Logger {
  return pino({ name: 's3-sync2', level: PINO_LEVEL[level], base: { pid: process.pid } });
}
