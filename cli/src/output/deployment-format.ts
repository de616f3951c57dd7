import type { Deployment, DeploymentPlan, Workload } from '@latchkey/proto';
import { formatTable } from './table-format.js';

/** Statuses of a deployment that no longer runs nor will. */
export const ENDED_STATUSES = new Set(['failed', 'exited', 'stopped']);

/** Statuses a deployment stays in once reached, as far as `deploy --wait` is concerned. */
export const FINAL_STATUSES = new Set(['deployed', ...ENDED_STATUSES]);

/** `deployed`, or `exited` with exit code 0. */
export function isSuccess(d: Deployment): boolean {
  return d.status === 'deployed' || (d.status === 'exited' && d.exitCode === 0);
}

/** What a waiting `deploy --wait` shows again when it changes. */
export const progressKey = (d: Deployment): string => JSON.stringify([d.status, d.reasons]);

const TRIGGERS: Record<string, string> = {
  deploy: 'deploy',
  redeploy: 'redeploy',
  auto: 'its redeploy policy',
};

/** How a reference is written in the workload: a key, or a legacy placeholder. */
export const referenceLabel = (v: { refId: string; key: string }): string =>
  v.refId.startsWith('LEGACY:') ? `\${secrets.${v.key}}` : v.key;

export function deploymentLines(d: Deployment, indent = ''): string[] {
  const extra = d.status === 'exited' ? ` (exit code ${d.exitCode})` : '';
  const lines = [`${indent}deployment ${d.id} ${d.status}${extra}`];
  if (d.trigger !== '') {
    const runs = d.runner !== '' ? `; ${d.status === 'deployed' ? 'runs' : 'ran'} on ${d.runner}` : '';
    lines.push(`${indent}  by ${d.principal} (${TRIGGERS[d.trigger] ?? d.trigger}) at ${d.createdAt}${runs}`);
  }
  if (d.stopRequestedAt !== '' && !ENDED_STATUSES.has(d.status)) {
    lines.push(`${indent}  stopping: asked by ${d.stopRequestedBy} at ${d.stopRequestedAt}`);
  }
  for (const reason of d.reasons) lines.push(`${indent}  reason: ${reason}`);
  for (const warning of d.warnings) lines.push(`${indent}  warning: ${warning}`);
  if (d.versions.length > 0) {
    lines.push(`${indent}  ${d.status === 'deployed' ? 'secret versions it holds' : 'secret versions it received'}:`);
    for (const row of formatTable(
      ['REFERENCE', 'SOURCE', 'SCOPE', 'VERSION'],
      d.versions.map((v) => [referenceLabel(v), v.sourceType, v.scope, String(v.version)]),
    )) {
      lines.push(`${indent}    ${row}`);
    }
  }
  return lines;
}

/** Per reference of a dry run or a connection test: its source, the scope and version used, or why it failed. */
export function referenceRows(references: DeploymentPlan['references']): string[] {
  if (references.length === 0) return [];
  return formatTable(
    ['REFERENCE', 'SOURCE', 'SCOPE', 'VERSION', 'OUTCOME'],
    references.map((r) => [
      referenceLabel(r),
      r.sourceType,
      r.ok ? r.scope : '-',
      r.ok ? (r.version > 0 ? String(r.version) : 'current') : '-',
      r.ok
        ? r.shadowedGlobal
          ? 'ok (shadows global)'
          : 'ok'
        : `${r.code}${r.retryable ? ' (would be retried)' : ''}: ${r.message}`,
    ]),
  ).map((row) => `  ${row}`);
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
  lines.push(...referenceRows(p.references));
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
  lines.push(`redeploy policy: ${redeployPolicyText(w)}`);
  lines.push(`stale: ${w.stale ? `yes${w.staleSince ? ` (since ${w.staleSince})` : ''}` : 'no'}`);
  for (const r of w.staleReasons) {
    const now = r.currentVersion === 0 ? 'now deleted' : `now version ${r.currentVersion}`;
    lines.push(
      `  ${r.key} (${r.scope}): deployed version ${r.deployedVersion}, ${now}${r.change ? ` (${r.change})` : ''}`,
    );
  }
  for (const warning of w.warnings) lines.push(`warning: ${warning}`);
  const live = w.liveDeployment;
  const last = w.lastDeployment;
  if (live !== undefined) {
    lines.push(live.status === 'deployed' ? 'running:' : 'live deployment (no longer running):');
    lines.push(...deploymentLines(live, '  '));
  } else lines.push('running: nothing');
  if (last === undefined) lines.push('last deployment: none');
  else if (last.id !== live?.id) {
    lines.push('last deployment:');
    lines.push(...deploymentLines(last, '  '));
  }
  return lines;
}

/** The workload's redeploy policy in words, as the deployer applies it (defaults filled in). */
export function redeployPolicyText(w: Workload): string {
  const p = w.redeployPolicy;
  if (p?.mode !== 'auto') return 'manual (latchkey redeploy)';
  const window = p.window !== '' ? `inside ${p.window} (UTC)` : 'at any time';
  const authority =
    w.appliedBy !== ''
      ? `as ${w.appliedBy} (who last applied it)`
      : 'as nobody: it was applied before authors were recorded; apply it again';
  return `auto, ${window}, at most ${p.maxConcurrent} at once in the domain, ${authority}`;
}

/**
 * A workload's state in lists, and the deployment it is about: a deployment
 * on its way, else what runs, else how the latest one ended.
 */
export function workloadStatus(w: Workload): { status: string; deployment: string } {
  const live = w.liveDeployment;
  const last = w.lastDeployment;
  if (last !== undefined && last.id !== live?.id && !FINAL_STATUSES.has(last.status)) {
    return { status: last.status, deployment: last.id };
  }
  if (live?.status === 'deployed') {
    return { status: live.stopRequestedAt !== '' ? 'stopping' : 'running', deployment: live.id };
  }
  return last ? { status: last.status, deployment: last.id } : { status: 'never deployed', deployment: '-' };
}
