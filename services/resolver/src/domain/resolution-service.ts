import { seal, type SealPublicKey } from '@latchkey/crypto';
import type { ReferenceFailure, ResolvedVersion, WorkloadDeploying } from '@latchkey/events';
import type { Authorizer } from '@latchkey/grpc';
import type { ResolutionPublisher, ValueRead, ValueSource } from './ports.js';

export interface ResolutionDeps {
  authorizer: Authorizer;
  values: ValueSource;
  publisher: ResolutionPublisher;
  recipient: SealPublicKey;
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
      ev.references.map((r) => ({ principal: ev.principal, action: 'secret.use', domain: ev.domain, resource: r.key })),
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
        await this.deps.publisher.failed({ deploymentId: ev.deploymentId, domain: ev.domain, failures });
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
}
