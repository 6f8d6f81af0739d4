/** A strict reader of the Prometheus text format, for asserting on /metrics. */
import assert from 'node:assert/strict';

/** Parses exposition text into `name{labels}` → value, failing the test on a malformed line. */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    // prom-client writes NaN as "Nan"; Prometheus parses floats case-insensitively, so do we.
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|nan|[+-]inf)$/i.exec(line);
    assert.ok(m, `malformed metrics line: ${line}`);
    const raw = m[2]!.toLowerCase();
    out.set(m[1]!, raw === 'nan' ? NaN : raw === '+inf' ? Infinity : raw === '-inf' ? -Infinity : Number(raw));
  }
  return out;
}
