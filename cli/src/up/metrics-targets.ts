import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MetricsTarget } from '../local-state/connection-file.js';

/** `<home>/metrics-targets.json`: every replica's metrics listener, for Prometheus's `file_sd_configs`. */
export function metricsTargetsPath(home: string): string {
  return path.join(home, 'metrics-targets.json');
}

/**
 * Writes the targets in Prometheus's file service discovery format (one
 * group per replica, labelled `replica`; the series carry `service`
 * themselves), atomically; Prometheus re-reads the file when it changes.
 */
export async function writeMetricsTargets(home: string, targets: readonly MetricsTarget[]): Promise<string> {
  const file = metricsTargetsPath(home);
  const groups = targets.map((t) => ({ targets: [t.address], labels: { replica: t.replica } }));
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(groups, null, 2) + '\n', { mode: 0o644 });
  await rename(tmp, file);
  return file;
}
