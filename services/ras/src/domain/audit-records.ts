import { auditRecord, type AuditRecord } from '@latchkey/events';
import type { CheckInput, Decision } from './access-policy.js';
import type { Actor } from './grant-types.js';

/** A field the record needs, for a question that left it empty. */
const orNone = (s: string): string => (s === '' ? '(none)' : s);

/**
 * The audit record of one decision: the question as asked (a resource read
 * from global scope says so), the answer, and for a denial its code and reason.
 */
export function decisionRecord(q: CheckInput, d: Decision, requestId: string): AuditRecord {
  const crossScope = q.scope !== '' && q.scope !== q.domain;
  return auditRecord({
    service: 'ras',
    actor: orNone(q.principal),
    groups: q.groups,
    action: orNone(q.action),
    domain: q.domain,
    resource: crossScope ? `${q.resource} (scope ${q.scope})` : q.resource,
    outcome: d.allowed ? 'allow' : 'deny',
    reason: d.allowed ? '' : `${d.code}: ${d.reason}`,
    requestId,
  });
}

/** The audit record of a change ras committed (written in the change's transaction). */
export function changeRecord(actor: Actor, action: string, domain: string, resource: string, reason = ''): AuditRecord {
  return auditRecord({
    service: 'ras',
    actor: actor.id,
    groups: actor.groups,
    action,
    domain,
    resource,
    outcome: 'ok',
    reason,
    requestId: actor.requestId ?? '',
  });
}
