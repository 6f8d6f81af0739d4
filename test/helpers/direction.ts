/** The settings of one direction as a run without any `aws s3 sync` option has them, for tests that build a Config or an Executor by hand. */
import type { DirectionOptions } from '../../src/config.js';

export function directionDefaults(overrides: Partial<DirectionOptions> = {}): DirectionOptions {
  return {
    delete: false,
    filters: [],
    sizeOnly: false,
    exactTimestamps: false,
    dryrun: false,
    followSymlinks: false,
    guessMimeType: true,
    onlyShowErrors: false,
    quiet: false,
    ...overrides,
  };
}
