/**
 * Turns occurrences into values: the last occurrence of an option wins (the environment is read
 * before argv, so flags beat env vars), a direction's own setting beats the global one, and the
 * table's default fills the rest. Only winning values are parsed, so an overridden env var is
 * never held against the user.
 */
import { ConfigError } from '../errors.js';
import type { Direction } from '../sync/types.js';
import { OPTIONS, type AnyOptionSpec, type OptionKey, type Resolved, type ValueOf } from './options.js';
import { shown, ValueError } from './parsers.js';
import type { Occurrence, Scope } from './sources.js';

/** Answers "what is the value of option X (for direction D)?" over a list of occurrences. */
export class Resolver {
  constructor(private readonly occurrences: readonly Occurrence[]) {}

  /** The option's value; with a direction, that direction's own setting wins over the global one. */
  value<K extends OptionKey>(key: K, direction?: Direction): Resolved<K> {
    const occurrence = this.winner(key, direction);
    const spec: AnyOptionSpec = OPTIONS[key];
    // The table guarantees the parser's and default's types match Resolved<K>; TS cannot see it through the key.
    return (occurrence === undefined ? spec.default : parse(occurrence, spec)) as Resolved<K>;
  }

  /** How the winning value was set (`--poll`, `POLL_INTERVAL`, …), or undefined when it was not. */
  origin(key: OptionKey, direction?: Direction): string | undefined {
    return this.winner(key, direction)?.origin;
  }

  /** Every value of repeatable options for a direction, in the order given: global ones first, then the direction's. */
  all<K extends OptionKey>(keys: readonly K[], direction: Direction): { key: K; value: ValueOf<K> }[] {
    const inScope = (scope: Scope) =>
      this.occurrences.filter((o): o is Occurrence & { key: K } => o.scope === scope && (keys as readonly OptionKey[]).includes(o.key));
    return [...inScope('global'), ...inScope(direction)].map((o) => ({ key: o.key, value: parse(o, OPTIONS[o.key]) as ValueOf<K> }));
  }

  /**
   * Runs a check that needs more than the raw value (e.g. other options) on the option's value; a
   * ValueError it throws becomes a ConfigError naming where the value came from.
   */
  refine<K extends OptionKey, R>(key: K, check: (value: ValueOf<K>) => R): R | undefined {
    const occurrence = this.winner(key);
    if (occurrence === undefined) return undefined;
    const value = parse(occurrence, OPTIONS[key]) as ValueOf<K>;
    return explained(occurrence, () => check(value));
  }

  private winner(key: OptionKey, direction?: Direction): Occurrence | undefined {
    const last = (scope: Scope) => {
      for (let i = this.occurrences.length - 1; i >= 0; i--) {
        const o = this.occurrences[i];
        if (o?.key === key && o.scope === scope) return o;
      }
      return undefined;
    };
    return (direction && last(direction)) ?? last('global');
  }
}

function parse(occurrence: Occurrence, spec: AnyOptionSpec): unknown {
  return explained(occurrence, () => spec.parser.parse(occurrence.raw));
}

function explained<R>(occurrence: Occurrence, run: () => R): R {
  try {
    return run();
  } catch (err) {
    if (err instanceof ValueError) throw new ConfigError(occurrence.origin, `${err.message} (got "${shown(occurrence.raw)}")`);
    throw err;
  }
}
