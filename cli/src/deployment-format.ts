import type { Deployment, Workload } from '@latchkey/proto';
import { formatTable } from './table-format.js';

export const FINAL_STATUSES = new Set(['deployed', 'failed', 'exited', 'stopped']);

/** `deployed`, or `exited` with exit code 0. */
export function isSuccess(d: Deployment): boolean {
  return d.status === 'deployed' || (d.status === 'exited' && d.exitCode === 0);
}

export function deploymentLines(d: Deployment, indent = ''): string[] {
  const extra = d.status === 'exited' ? ` (exit code ${d.exitCode})` : '';
  const lines = [`${indent}deployment ${d.id} ${d.status}${extra}`];
  for (const reason of d.reasons) lines.push(`${indent}  reason: ${reason}`);
  if (d.versions.length > 0) {
    lines.push(`${indent}  versions received:`);
    for (const row of formatTable(
      ['KEY', 'SCOPE', 'VERSION'],
      d.versions.map((v) => [v.key, v.scope, String(v.version)]),
    )) {
      lines.push(`${indent}    ${row}`);
    }
  }
  return lines;
}

function prettySpec(specJson: string): string {
  try {
    return JSON.stringify(JSON.parse(specJson), null, 2);
  } catch {
    return specJson;
  }
}

export function workloadLines(w: Workload): string[] {
  const lines = [`workload ${w.name} (${w.kind || 'unknown kind'}) in domain ${w.domain}`];
  if (w.createdAt !== '' || w.updatedAt !== '') lines.push(`created ${w.createdAt}, updated ${w.updatedAt}`);
  lines.push('spec:');
  for (const l of prettySpec(w.specJson).split('\n')) lines.push(`  ${l}`);
  lines.push(`stale: ${w.stale ? 'yes' : 'no'}`);
  for (const r of w.staleReasons) {
    const now = r.currentVersion === 0 ? 'now deleted' : `now version ${r.currentVersion}`;
    lines.push(
      `  ${r.key} (${r.scope}): deployed version ${r.deployedVersion}, ${now}${r.change ? ` (${r.change})` : ''}`,
    );
  }
  for (const warning of w.warnings) lines.push(`warning: ${warning}`);
  if (w.lastDeployment === undefined) lines.push('last deployment: none');
  else {
    lines.push('last deployment:');
    lines.push(...deploymentLines(w.lastDeployment, '  '));
  }
  return lines;
}
