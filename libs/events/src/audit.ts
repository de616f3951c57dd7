import { randomUUID } from 'node:crypto';
import { invalidArgument } from '@latchkey/errors';
import type { OutgoingEvent } from './envelope.js';
import { DOMAIN_NAME, GLOBAL_SCOPE } from './names.js';
import { eventTypes, subjects } from './subjects.js';

/**
 * `allow` / `deny`: a decision (ras Check, or a resolution's permission
 * outcome). `ok` / `error`: a change or a read that was carried out, or failed.
 */
export const AUDIT_OUTCOMES = ['allow', 'deny', 'ok', 'error'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** The services that write audit records: the second token of the subject. */
export const AUDIT_SERVICES = ['catalog', 'ras', 'resolver', 'deployer'] as const;
export type AuditService = (typeof AUDIT_SERVICES)[number];

/**
 * One audit record: who did what, to which resource, with what outcome. It
 * never holds a secret value or a credential: `resource` names things
 * (`secret:db_password`, `vault:team-vault`, `grant:user alice`), `reason`
 * says why in words and codes.
 */
export interface AuditRecord {
  /** Unique; the consumer stores each id once (and JetStream drops a re-published id). */
  id: string;
  /** ISO 8601, when the decision or change happened. */
  at: string;
  service: AuditService;
  /** The user (or `service:<name>`) who asked, or on whose behalf a service asked. */
  actor: string;
  /** The actor's groups, when the identity carried any. */
  groups?: string[];
  /** A ras action (`secret.use`) for decisions; a verb (`secret.put`, `bundle.grant`, `secret.read`) for changes and reads. */
  action: string;
  /** The domain acted in (or from), or `global`. */
  domain: string;
  resource: string;
  outcome: AuditOutcome;
  /** Why (a denial's code and reason, an error code, a new version); empty when nothing needs saying. */
  reason: string;
  /** The request that caused it (gRPC x-request-id, or the deployment id for a resolution). */
  requestId: string;
}

export interface AuditInput {
  service: AuditService;
  actor: string;
  groups?: readonly string[];
  action: string;
  domain: string;
  resource?: string;
  outcome: AuditOutcome;
  reason?: string;
  requestId?: string;
  /** Default: a fresh UUID. Give a deterministic id when the same record may be written twice. */
  id?: string;
  /** Default: now. */
  at?: Date;
}

/** Bounds on each field: a record is about something, never a dump of a request. */
const LIMITS = { actor: 256, action: 64, domain: 80, resource: 2000, reason: 2000, requestId: 128, group: 256 };
const MAX_GROUPS = 100;

const clip = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 3)}...` : s);

/** A record from `input`, with an id and a time, every field within its bound. */
export function auditRecord(input: AuditInput): AuditRecord {
  const groups = (input.groups ?? []).slice(0, MAX_GROUPS).map((g) => clip(g, LIMITS.group));
  return {
    id: input.id ?? randomUUID(),
    at: (input.at ?? new Date()).toISOString(),
    service: input.service,
    actor: clip(input.actor, LIMITS.actor),
    ...(groups.length > 0 ? { groups } : {}),
    action: clip(input.action, LIMITS.action),
    domain: clip(input.domain, LIMITS.domain),
    resource: clip(input.resource ?? '', LIMITS.resource),
    outcome: input.outcome,
    reason: clip(input.reason ?? '', LIMITS.reason),
    requestId: clip(input.requestId ?? '', LIMITS.requestId),
  };
}

/**
 * `latchkey.audit.<service>.<domain>`; `global` for global scope, platform
 * actions and anything whose domain is not a valid domain name (a subject
 * token must not carry what a caller typed).
 */
export function auditSubject(record: Pick<AuditRecord, 'service' | 'domain'>): string {
  const token = DOMAIN_NAME.test(record.domain) ? record.domain : GLOBAL_SCOPE;
  return subjects.audit(record.service, token);
}

/** The record as an event for the outbox or a direct publish (event id = record id). */
export function auditEvent(record: AuditRecord): OutgoingEvent<AuditRecord> & { id: string } {
  return { id: record.id, type: eventTypes.audit, subject: auditSubject(record), data: record };
}

const isString = (v: unknown): v is string => typeof v === 'string';

/**
 * Checks a record read from the bus: every field present and of its type,
 * within its bound. Throws a (permanent) invalid_argument error naming the
 * first bad field.
 */
export function parseAuditRecord(data: unknown): AuditRecord {
  const bad = (field: string) =>
    invalidArgument('audit.malformed_record', `audit record field ${field} is missing or malformed`);
  if (typeof data !== 'object' || data === null) throw bad('(record)');
  const r = data as Record<string, unknown>;
  const text = (field: keyof typeof LIMITS, nonEmpty: boolean): string => {
    const v = r[field];
    if (!isString(v) || v.length > LIMITS[field] || (nonEmpty && v === '')) throw bad(field);
    return v;
  };
  const id = r['id'];
  if (!isString(id) || id === '' || id.length > 200) throw bad('id');
  const at = r['at'];
  if (!isString(at) || Number.isNaN(Date.parse(at))) throw bad('at');
  const service = r['service'];
  if (!isString(service) || !(AUDIT_SERVICES as readonly string[]).includes(service)) throw bad('service');
  const outcome = r['outcome'];
  if (!isString(outcome) || !(AUDIT_OUTCOMES as readonly string[]).includes(outcome)) throw bad('outcome');
  const groups = r['groups'];
  if (
    groups !== undefined &&
    !(
      Array.isArray(groups) &&
      groups.length <= MAX_GROUPS &&
      groups.every((g) => isString(g) && g.length <= LIMITS.group)
    )
  ) {
    throw bad('groups');
  }
  return {
    id,
    at: new Date(at).toISOString(),
    service: service as AuditService,
    actor: text('actor', true),
    ...(Array.isArray(groups) && groups.length > 0 ? { groups: groups as string[] } : {}),
    action: text('action', true),
    domain: text('domain', false),
    resource: text('resource', false),
    outcome: outcome as AuditOutcome,
    reason: text('reason', false),
    requestId: text('requestId', false),
  };
}
