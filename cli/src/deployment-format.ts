import type { Deployment, DeploymentPlan, Workload } from '@latchkey/proto';
import { formatTable } from './table-format.js';

export const FINAL_STATUSES = new Set(['deployed', 'failed', 'exited', 'stopped']);

/** `deployed`, or `exited` with exit code 0. */
export function isSuccess(d: Deployment): boolean {
  return d.status === 'deployed' || (d.status === 'exited' && d.exitCode === 0);
}

/** What a waiting `deploy --wait` shows again when it changes. */
export const progressKey = (d: Deployment): string => JSON.stringify([d.status, d.reasons]);

export function deploymentLines(d: Deployment, indent = ''): string[] {
  const extra = d.status === 'exited' ? ` (exit code ${d.exitCode})` : '';
  const lines = [`${indent}deployment ${d.id} ${d.status}${extra}`];
  for (const reason of d.reasons) lines.push(`${indent}  reason: ${reason}`);
  for (const warning of d.warnings) lines.push(`${indent}  warning: ${warning}`);
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

/** A dry run: per reference, what a deployment would use now, or why it would fail. */
export function planLines(p: DeploymentPlan): string[] {
  const failing = p.references.filter((r) => !r.ok).length;
  const lines = [
    `dry run of ${p.workload} in domain ${p.domain}: ${
      p.ok
        ? `${p.references.length} reference(s) would resolve`
        : failing > 0
          ? `${failing} of ${p.references.length} reference(s) would fail`
          : 'the workload could not be started'
    }; nothing was deployed`,
  ];
  if (p.references.length > 0) {
    for (const row of formatTable(
      ['REFERENCE', 'SOURCE', 'SCOPE', 'VERSION', 'OUTCOME'],
      p.references.map((r) => [
        r.refId.startsWith('LEGACY:') ? `\${secrets.${r.key}}` : r.key,
        r.sourceType,
        r.ok ? r.scope : '-',
        r.ok ? (r.version > 0 ? String(r.version) : 'current') : '-',
        r.ok
          ? r.shadowedGlobal
            ? 'ok (shadows global)'
            : 'ok'
          : `${r.code}${r.retryable ? ' (would be retried)' : ''}: ${r.message}`,
      ]),
    )) {
      lines.push(`  ${row}`);
    }
  }
  for (const warning of p.warnings) lines.push(`warning: ${warning}`);
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
