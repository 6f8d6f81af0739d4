#!/usr/bin/env node
/**
 * Process entry: configuration, the initial sync, the loop, signals and exit codes.
 * Exit codes: 0 done or stopped by a signal; 1 --max-failures reached or --poll 0 sync failed;
 * 2 bad configuration or a start-up check that a person must fix.
 */
import { readFileSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import module from 'node:module';
import type { Logger } from 'pino';
import { HelpRequestedError, helpText, loadConfig, type Config } from './config.js';
import { ConfigError, messageOf } from './errors.js';
import { createLogger } from './logger.js';

/** Version from package.json, for /status and --version. */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

// Node >= 22.1 (the image) keeps the compiled code of the lazily loaded app and SDK chunks on disk
// ($TMPDIR/node-compile-cache): about 12% less CPU per start measured. Older Node has no such
// call; an unwritable folder just leaves the cache off.
try {
  (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
} catch {
  // a start without the cache is only slower
}

/**
 * Process warnings (a library's deprecation notice, a listener leak) as log lines at WARN: Node
 * prints them as plain multi-line text on stderr, which a pipeline of JSON log lines (CloudWatch
 * through awslogs) splits into fragments. Replaces Node's printer, so each appears once.
 */
function logProcessWarnings(logger: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string }) => {
    logger.warn({ warning: { name: warning.name, code: warning.code } }, warning.message);
  });
}

/** Exit code for configuration errors (the seed's usage errors). */
const EXIT_CONFIG = 2;

async function main(): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof HelpRequestedError) {
      process.stdout.write(err.kind === 'version' ? `${VERSION}\n` : helpText());
      return 0;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`s3-sync2: ${err.message}\nRun "s3-sync2 --help" for the options.\n`);
      return EXIT_CONFIG;
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  logProcessWarnings(logger);
  try {
    return await run(config, logger);
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.error({ option: err.option }, err.message);
      process.stderr.write(`s3-sync2: ${err.message}\n`);
      return EXIT_CONFIG;
    }
    logger.fatal({ err }, `s3-sync2 stopped: ${messageOf(err)}`);
    return 1;
  }
}

async function run(config: Config, logger: Logger): Promise<number> {
  const signal = new Promise<string>((resolve) => {
    for (const name of ['SIGTERM', 'SIGINT'] as const) process.once(name, () => resolve(name));
  });
  // A missing LocalPath is created, as `aws s3 sync` creates its destination; the state folder
  // when the baseline is first saved (not at all under --dryrun).
  await checkFolder('<LocalPath>', config.localPath, { create: true });
  await checkFolder('--state-dir', config.stateDir, { create: false });
  // Loaded only now: the S3 SDK, Fastify and the watcher take seconds to load on a busy host, and
  // --help or a configuration error should answer at once.
  const { createApp } = await import('./app.js');
  logger.info(
    { version: VERSION, localPath: config.localPath, s3Uri: config.s3Uri, pollSeconds: config.pollSeconds, dfs: config.dfs.enabled },
    `s3-sync2 ${VERSION}: ${config.localPath} <-> ${config.s3Uri}`,
  );
  // Start-up talks to S3 (the --dfs probe, CloudFront's origin lookup); a stalled store must not
  // keep a signal waiting for the SDK's timeouts. Nothing has synced yet, so nothing is lost.
  const started = await Promise.race([createApp(config, { logger, env: process.env, version: VERSION }), signal]);
  if (typeof started === 'string') {
    logger.info({ why: started }, 'stopped during start-up');
    return 0;
  }
  const app = started;
  const stop = async (why: string, code: number, finalSync = true): Promise<number> => {
    logger.info({ why }, 'shutting down');
    await app.shutdown({ finalSync });
    // The exit stays as the contract says (0 after a signal); whether the final up-sync got
    // everything up is on the last line, for whoever reads the task's log.
    logger.info({ code, finalSyncComplete: !app.syncer.finalSyncIncomplete }, 'stopped');
    return code;
  };

  await app.syncer.prepare();
  const initial = app.syncer.initialSync();
  if (config.pollSeconds === 0) {
    const outcome = await Promise.race([initial, signal]);
    if (typeof outcome === 'string') return stop(outcome, 0);
    // The initial sync was the whole job; a second up-sync would only repeat it.
    return stop('--poll 0: initial sync done', outcome.outcome === 'success' ? 0 : 1, false);
  }
  app.syncer.startLoop();
  const ended = await Promise.race([
    signal.then((name) => ({ code: 0, why: name })),
    app.fatal.then((why) => ({ code: 1, why })),
  ]);
  return stop(ended.why, ended.code);
}

/**
 * Something other than a folder where `option` names one, or one that cannot be read (or
 * created, with `create`), is a ConfigError naming the option (exit 2), not a failing sync.
 */
async function checkFolder(option: string, path: string, { create }: { create: boolean }): Promise<void> {
  const found = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new ConfigError(option, `cannot read ${path}: ${err.message}`);
  });
  if (found && !found.isDirectory()) throw new ConfigError(option, `${path} exists but is not a directory`);
  if (!found && create) {
    await mkdir(path, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw new ConfigError(option, `create ${path}: ${err.message}`);
    });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`s3-sync2: unexpected error: ${messageOf(err)}\n`);
    process.exit(1);
  },
);
