/** Reads one metric value from a test's own registry. */
import type { Metrics } from '../../src/metrics.js';

/** The value of metric `name` with `labels` (0 when never set); throws on an unknown name. */
export async function metricValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const found = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  if (!found) throw new Error(`no metric ${name}`);
  const value = found.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}
