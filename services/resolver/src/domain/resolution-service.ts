import { seal, type SealPublicKey } from '@latchkey/crypto';
import { LatchkeyError } from '@latchkey/errors';
import { auditRecord, type ReferenceFailure, type ResolvedVersion, type WorkloadDeploying } from '@latchkey/events';
import type { Authorizer } from '@latchkey/grpc';
import type { AuditTrail, ResolutionPublisher, ValueRead, ValueSource } from './ports.js';

export interface ResolutionDeps {
  authorizer: Authorizer;
  values: ValueSource;
  publisher: ResolutionPublisher;
  recipient: SealPublicKey;
  /** Where the record of each resolution goes, before any value is published. */
  audit: AuditTrail;
  /**
   * audit.failClosed: when the record cannot be written, refuse the
   * resolution (reason audit.unavailable) instead of serving it unaudited.
   */
  auditFailClosed: boolean;
  logger: { warn(msg: string, fields?: Record<string, unknown>): void };
}

/** What a resolution read: each reference's source (the scope that answered), key and version, never a value. */
function readList(versions: readonly ResolvedVersion[]): string {
  return versions.map((v) => `${v.sourceType}:${v.scope}/${v.key}@v${v.version}`).join(', ');
}

const GLOBAL = 'global';

/**
 * Turns a deployment's references into sealed values or into the full list of
 * reasons why not. All or nothing: one bad reference fails the deployment.
 */
export class ResolutionService {
  constructor(private readonly deps: ResolutionDeps) {}

  async resolve(ev: WorkloadDeploying): Promise<void> {
    const failures: ReferenceFailure[] = [];
    const reads: ValueRead[] = [];
    const fail = (refId: string, key: string, code: string, message: string) =>
      failures.push({ refId, key, code, message });

    // One batched permission check for every reference.
    const decisions = await this.deps.authorizer.checkBatch(
      ev.references.map((r) => ({
        principal: ev.principal,
        action: 'secret.use',
        domain: ev.domain,
        resource: r.key,
        requestId: ev.deploymentId,
      })),
    );
    ev.references.forEach((ref, i) => {
      const d = decisions[i];
      if (!d?.allowed) {
        fail(ref.refId, ref.key, d?.code || 'ras.permission_denied', d?.reason || 'not permitted');
        return;
      }
      if (ref.sourceType === 'VAULT') {
        // The catalog answers only if the integration belongs to the workload's domain.
        reads.push({
          refId: ref.refId,
          key: ref.key,
          scope: ev.domain,
          fallbackToGlobal: false,
          sourceType: 'VAULT',
          integrationId: ref.sourceId,
        });
        return;
      }
      const scope = ref.legacy ? ev.domain : ref.sourceId;
      if (scope !== ev.domain && scope !== GLOBAL) {
        fail(
          ref.refId,
          ref.key,
          'ras.cross_domain',
          `reference ${ref.key} names domain ${scope}, but the workload is in ${ev.domain}: a workload may use its own domain's secrets and global ones`,
        );
        return;
      }
      reads.push({ refId: ref.refId, key: ref.key, scope, fallbackToGlobal: ref.legacy });
    });

    const values = new Map<string, Buffer>();
    const versions: ResolvedVersion[] = [];
    try {
      if (reads.length > 0) {
        const results = await this.deps.values.read(reads);
        const byId = new Map(ev.references.map((x) => [x.refId, x]));
        for (const r of results) {
          const ref = byId.get(r.refId);
          if (!ref) continue;
          if (!r.found) {
            fail(r.refId, ref.key, r.code, r.message);
            continue;
          }
          values.set(r.refId, r.value);
          versions.push({
            refId: r.refId,
            key: ref.key,
            sourceType: ref.sourceType,
            scope: r.scope,
            version: r.version,
          });
        }
      }
      if (failures.length > 0) {
        await this.#audit(
          ev,
          failures.some((f) => f.code.startsWith('ras.')) ? 'deny' : 'error',
          ev.references.map((r) => `${r.sourceType}:${r.sourceId}/${r.key}`).join(', '),
          failures.map((f) => `${f.key}: ${f.code}`).join(', '),
        );
        await this.deps.publisher.failed({ deploymentId: ev.deploymentId, domain: ev.domain, failures });
        return;
      }
      // The record of the read is stored before any value leaves; fail-closed refuses rather than serve unaudited.
      if (versions.length > 0 && !(await this.#audit(ev, 'ok', readList(versions), '')) && this.deps.auditFailClosed) {
        await this.deps.publisher.failed({
          deploymentId: ev.deploymentId,
          domain: ev.domain,
          failures: ev.references.map((r) => ({
            refId: r.refId,
            key: r.key,
            code: 'audit.unavailable',
            message:
              'value not served: the audit record of this read could not be written and audit.failClosed is on; deploy again once the audit stream is back',
          })),
        });
        return;
      }
      const plaintext = Buffer.from(
        JSON.stringify(Object.fromEntries([...values].map(([k, v]) => [k, v.toString('utf8')]))),
      );
      try {
        const sealed = seal(this.deps.recipient, plaintext, ev.deploymentId);
        await this.deps.publisher.resolved({
          deploymentId: ev.deploymentId,
          domain: ev.domain,
          versions,
          sealed,
          warnings: [],
        });
      } finally {
        plaintext.fill(0);
      }
    } finally {
      for (const v of values.values()) v.fill(0);
    }
  }

  /**
   * Writes the record of this resolution (actor: the deploying principal);
   * false when it could not be written, which is logged (never with a value).
   */
  async #audit(
    ev: WorkloadDeploying,
    outcome: 'ok' | 'deny' | 'error',
    resource: string,
    reason: string,
  ): Promise<boolean> {
    try {
      await this.deps.audit.write(
        auditRecord({
          id: `secret.read:${ev.deploymentId}`,
          service: 'resolver',
          actor: ev.principal,
          action: 'secret.read',
          domain: ev.domain,
          resource,
          outcome,
          reason: reason === '' ? `deployment ${ev.deploymentId} of workload ${ev.workload}` : reason,
          requestId: ev.deploymentId,
        }),
      );
      return true;
    } catch (err) {
      this.deps.logger.warn(
        this.deps.auditFailClosed
          ? 'audit record not written: resolution refused (audit.failClosed)'
          : 'audit record not written: resolution served unaudited (audit.failClosed is off)',
        {
          deploymentId: ev.deploymentId,
          code: err instanceof LatchkeyError ? err.code : ((err as { code?: string }).code ?? 'error'),
        },
      );
      return false;
    }
  }
}
