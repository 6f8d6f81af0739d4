/** Redacts secrets from configuration before it is shown (`GET /status`). */

/** What a redacted value reads as. */
export const REDACTED = '[redacted]';

/** Names of settings that hold credentials; matched case-insensitively against object keys. */
const SECRET_KEY = /token|secret|password|passphrase|credential|authorization|session|private/i;

/**
 * A deep copy of `value` with credential-like values replaced by `[redacted]` and the user-info of
 * URLs (`https://user:pass@host`) removed. Dates become ISO strings, as JSON would have them.
 */
export function redactSecrets(value: unknown): Record<string, unknown> {
  const out = redact(value);
  return out !== null && typeof out === 'object' && !Array.isArray(out) ? (out as Record<string, unknown>) : {};
}

function redact(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value === 'string') return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, `$1${REDACTED}@`);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && inner !== undefined && inner !== null && inner !== '' ? REDACTED : redact(inner);
  }
  return out;
}
