import { LatchkeyError } from '@latchkey/errors';
import {
  auditRecord,
  type PlanRequest,
  type ResolvedVersion,
  type RuntimeReadRequest,
  type WorkloadDeploying,
  RUNTIME_READ_ACTION,
} from '@latchkey/events';
import type { AuditTrail } from './ports.js';
import type { Failed, Outcome, Resolved } from './resolution-outcome.js';

/** What an audit record of a read is about. */
export interface AuditSubject {
  principal: string;
  /** The principal's groups (from its identity), when it has any. */
  groups?: readonly string[] | undefined;
  domain: string;
  requestId: string;
  /** The reason recorded when nothing else needs saying. */
  what: string;
  /** The action recorded; default `secret.read`. */
  action?: string;
  /** How a failure to write it is logged. */
  logFields: Record<string, string>;
}

export type AuditOutcome = 'ok' | 'deny' | 'error';

export interface AuditDeps {
  audit: AuditTrail;
  auditFailClosed: boolean;
  logger: { warn(msg: string, fields?: Record<string, unknown>): void };
}

export function deploymentSubject(ev: WorkloadDeploying): AuditSubject {
  return {
    principal: ev.principal,
    groups: ev.groups,
    domain: ev.domain,
    requestId: ev.deploymentId,
    what: `deployment ${ev.deploymentId} of workload ${ev.workload}`,
    logFields: { deploymentId: ev.deploymentId },
  };
}

/** A running workload's read of one of its deployment's references (with its workload token, through the gateway). */
export function runtimeReadSubject(req: RuntimeReadRequest): AuditSubject {
  return {
    principal: req.principal,
    groups: req.groups,
    domain: req.domain,
    requestId: req.deploymentId,
    action: RUNTIME_READ_ACTION,
    what: `runtime_read by deployment ${req.deploymentId} of workload ${req.workload} (its workload token; request ${req.requestId ?? ''})`,
    logFields: { deploymentId: req.deploymentId, requestId: req.requestId ?? '' },
  };
}

export function dryRunSubject(req: PlanRequest, requestId: string): AuditSubject {
  return {
    principal: req.principal,
    groups: req.groups,
    domain: req.domain,
    requestId,
    what: `dry run of workload ${req.workload} (values read and discarded, nothing deployed)`,
    logFields: { requestId, workload: req.workload },
  };
}

/** A STORAGE_CONFIG's connection test: values read for one signed S3 request by the deployer, nothing deployed. */
export function connectionTestSubject(req: PlanRequest, requestId: string): AuditSubject {
  return {
    principal: req.principal,
    groups: req.groups,
    domain: req.domain,
    requestId,
    what: `connection test of storage config ${req.workload} (values read for one signed S3 request, nothing deployed)`,
    logFields: { requestId, workload: req.workload },
  };
}

/** What a resolution read: each reference's source (the scope that answered), key and version, never a value. */
export function readList(versions: readonly ResolvedVersion[]): string {
  return versions.map((v) => `${v.sourceType}:${v.scope}/${v.key}@v${v.version}`).join(', ');
}

/** What a resolution asked for: each reference as written. */
export function askedList(refs: readonly Outcome['ref'][]): string {
  return refs.map((r) => `${r.sourceType}:${r.sourceId}/${r.key}`).join(', ');
}

/** deny when ras refused any reference, else error. */
export function failureOutcome(failures: readonly { code: string }[]): AuditOutcome {
  return failures.some((f) => f.code.startsWith('ras.')) ? 'deny' : 'error';
}

/** Each failure as `key: code`. */
export function failureList(failed: readonly Failed[]): string {
  return failed.map((f) => `${f.ref.key}: ${f.code}`).join(', ');
}

/** A dry run's resource: what it read, or what it asked for when it read nothing. */
export function dryRunResource(ok: readonly Resolved[], asked: readonly Outcome['ref'][]): string {
  return ok.map((o) => `${o.ref.sourceType}:${o.scope}/${o.ref.key}@v${o.version}`).join(', ') || askedList(asked);
}

/**
 * Writes the record of this resolution (actor: the deploying principal);
 * false when it could not be written, which is logged (never with a value).
 * Its id is random (auditRecord's default): an id derived from the
 * deployment could be published first by anyone who sees the deploying
 * event, and JetStream would then drop the real record as a duplicate. A
 * redelivered deploying event reads the values again, and that second read
 * gets a record of its own.
 */
export async function writeReadRecord(
  deps: AuditDeps,
  r: AuditSubject,
  outcome: AuditOutcome,
  resource: string,
  reason: string,
): Promise<boolean> {
  try {
    await deps.audit.write(
      auditRecord({
        service: 'resolver',
        actor: r.principal,
        ...(r.groups && r.groups.length > 0 ? { groups: r.groups } : {}),
        action: r.action ?? 'secret.read',
        domain: r.domain,
        resource,
        outcome,
        reason: reason === '' ? r.what : reason,
        requestId: r.requestId,
      }),
    );
    return true;
  } catch (err) {
    deps.logger.warn(
      deps.auditFailClosed
        ? 'audit record not written: resolution refused (audit.failClosed)'
        : 'audit record not written: resolution served unaudited (audit.failClosed is off)',
      { ...r.logFields, code: errorCode(err) },
    );
    return false;
  }
}

/** The code of a failure to write a record, for a log line (never its message, which might say more). */
export function errorCode(err: unknown): string {
  return err instanceof LatchkeyError ? err.code : ((err as { code?: string }).code ?? 'error');
}
