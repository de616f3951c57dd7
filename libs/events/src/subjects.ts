import type { StreamSpec } from '@latchkey/nats';

export const STREAM_EVENTS = 'LATCHKEY_EVENTS';
export const STREAM_RESOLVED = 'LATCHKEY_RESOLVED';
export const STREAM_AUDIT = 'LATCHKEY_AUDIT';

export const subjects = {
  deploying: (domain: string) => `latchkey.workload.deploying.${domain}`,
  resolved: (domain: string) => `latchkey.workload.resolved.${domain}`,
  resolutionFailed: (domain: string) => `latchkey.workload.resolution_failed.${domain}`,
  resolutionRetrying: (domain: string) => `latchkey.workload.resolution_retrying.${domain}`,
  deployed: (domain: string) => `latchkey.workload.deployed.${domain}`,
  failed: (domain: string) => `latchkey.workload.failed.${domain}`,
  stale: (domain: string) => `latchkey.workload.stale.${domain}`,
  stopRequested: (domain: string) => `latchkey.workload.stop_requested.${domain}`,
  secretChanged: (scope: string) => `latchkey.secret.changed.${scope}`,
  secretRotationDue: (scope: string) => `latchkey.secret.rotation_due.${scope}`,
  policyChanged: () => 'latchkey.policy.changed',
  audit: (service: string, domain: string) => `latchkey.audit.${service}.${domain}`,
  /** Every service's audit records (the audit stream, ras's consumer). */
  allAudit: () => 'latchkey.audit.>',
} as const;

/** The last token of a subject filter that matches every domain (or scope): `subjects.deployed(ALL)`. */
export const ALL = '>';

export const STREAMS: StreamSpec[] = [
  {
    name: STREAM_EVENTS,
    subjects: [
      subjects.deploying(ALL),
      subjects.resolutionFailed(ALL),
      subjects.resolutionRetrying(ALL),
      subjects.deployed(ALL),
      subjects.failed(ALL),
      subjects.stale(ALL),
      subjects.stopRequested(ALL),
      subjects.secretChanged(ALL),
      subjects.secretRotationDue(ALL),
      subjects.policyChanged(),
    ],
    maxAgeMs: 7 * 24 * 3600_000,
  },
  // Sealed values: gone once a deployer acknowledges them, and never kept long.
  { name: STREAM_RESOLVED, subjects: [subjects.resolved(ALL)], workQueue: true, maxAgeMs: 3600_000 },
  { name: STREAM_AUDIT, subjects: [subjects.allAudit()], maxAgeMs: 30 * 24 * 3600_000 },
];

/** The CloudEvents `type` of each event. */
export const eventTypes = {
  deploying: 'dev.latchkey.workload.deploying.v1',
  resolved: 'dev.latchkey.workload.resolved.v1',
  resolutionFailed: 'dev.latchkey.workload.resolution_failed.v1',
  resolutionRetrying: 'dev.latchkey.workload.resolution_retrying.v1',
  deployed: 'dev.latchkey.workload.deployed.v1',
  failed: 'dev.latchkey.workload.failed.v1',
  stale: 'dev.latchkey.workload.stale.v2',
  stopRequested: 'dev.latchkey.workload.stop_requested.v1',
  secretChanged: 'dev.latchkey.secret.changed.v1',
  secretRotationDue: 'dev.latchkey.secret.rotation_due.v1',
  policyChanged: 'dev.latchkey.policy.changed.v1',
  audit: 'dev.latchkey.audit.v1',
} as const;
