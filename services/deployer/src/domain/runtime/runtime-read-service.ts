import { randomUUID } from 'node:crypto';
import { open, type SealKeyPair } from '@latchkey/crypto';
import {
  auditRecord,
  DOMAIN_NAME,
  INTEGRATION_ID,
  runtimeReadBinding,
  type ReferenceSpec,
  type SourceType,
  RUNTIME_READ_ACTION,
} from '@latchkey/events';
import type { Logger } from '@latchkey/logger';
import type { DeploymentRecord } from '../deployment-types.js';
import type { RuntimeValueReader, TokenHolder, WorkloadRepo, WorkloadTokenStore } from '../ports.js';
import {
  invalidSource,
  referenceAmbiguous,
  referenceNotInSpec,
  runtimeReadRefused,
  tokenInvalid,
} from './runtime-errors.js';
import { sameTokenHash, WORKLOAD_TOKEN, workloadTokenHash } from './workload-token.js';

export interface RuntimeReadDeps {
  tokens: WorkloadTokenStore;
  reader: RuntimeValueReader;
  sealKeys: ReadonlyMap<string, SealKeyPair>;
  /** Where the deployer's own audit records go (a refused reference). */
  repo: Pick<WorkloadRepo, 'recordAudit'>;
  logger: Logger;
  /** How long a read waits for the resolver; default 10 s. */
  timeoutMs?: number;
}

/** What a token may read: its deployment and the references of its spec. */
export interface RuntimeReferences {
  deployment: DeploymentRecord;
  references: ReferenceSpec[];
}

export interface RuntimeValue {
  key: string;
  sourceType: SourceType;
  scope: string;
  version: number;
  value: string;
}

/** Which reference a read names: its key, and its source when the key is referenced from more than one. */
export interface RuntimeReadQuery {
  key: string;
  sourceType?: string;
  sourceId?: string;
}

/**
 * Secrets from inside a running workload (issue 15 §3). A deployment's
 * token reads only the references of that deployment's own spec, at their
 * current version, as the deploying principal (the resolver asks ras and
 * audits each read), and only while the deployment is its workload's live
 * one: once it ends, is asked to stop or is replaced, the token is refused
 * with the same answer as an unknown one.
 */
export class RuntimeReadService {
  constructor(private readonly deps: RuntimeReadDeps) {}

  async references(token: string): Promise<RuntimeReferences> {
    const holder = await this.#live(token);
    return { deployment: holder.deployment, references: [...(holder.references ?? [])] };
  }

  async read(token: string, q: RuntimeReadQuery): Promise<RuntimeValue> {
    const holder = await this.#live(token);
    const d = holder.deployment;
    const reference = await this.#referenceOf(holder, q);
    const requestId = randomUUID();
    const reply = await this.deps.reader.read(
      {
        domain: d.domain,
        workload: d.workload,
        deploymentId: d.id,
        principal: d.principal,
        ...(d.groups.length > 0 ? { groups: d.groups } : {}),
        reference,
        requestId,
        issuedAt: new Date().toISOString(),
      },
      this.deps.timeoutMs ?? 10_000,
    );
    if (!reply.ok) throw runtimeReadRefused(reply.code, reply.message);
    if (reply.key !== reference.key) throw runtimeReadRefused('resolver.error', 'the resolver answered another key');
    const plain = open(this.deps.sealKeys, reply.sealed, runtimeReadBinding(requestId));
    try {
      return {
        key: reply.key,
        sourceType: reply.sourceType,
        scope: reply.scope,
        version: reply.version,
        value: plain.toString('utf8'),
      };
    } finally {
      plain.fill(0);
    }
  }

  /** The token's deployment while it is live; else one refusal for every case. */
  async #live(token: string): Promise<TokenHolder> {
    if (typeof token !== 'string' || !WORKLOAD_TOKEN.test(token)) throw tokenInvalid();
    const hash = workloadTokenHash(token);
    const holder = await this.deps.tokens.findByHash(hash);
    if (!holder || !sameTokenHash(holder.tokenHash, hash) || !holder.live) {
      this.deps.logger.info('runtime read refused: the workload token is unknown, ended or replaced', {
        ...(holder ? { deploymentId: holder.deployment.id } : {}),
      });
      throw tokenInvalid();
    }
    return holder;
  }

  /** The one reference of the deployment's spec that `q` names; a key outside the spec is refused and audited. */
  async #referenceOf(holder: TokenHolder, q: RuntimeReadQuery): Promise<ReferenceSpec> {
    const refs = holder.references ?? [];
    const sourceType = q.sourceType === 'KUBERNETES' ? 'MANAGED' : q.sourceType;
    if (sourceType !== undefined && sourceType !== '' && sourceType !== 'MANAGED' && sourceType !== 'VAULT') {
      throw invalidSource('source_type must be MANAGED (alias KUBERNETES) or VAULT');
    }
    if (
      q.sourceId !== undefined &&
      q.sourceId !== '' &&
      !DOMAIN_NAME.test(q.sourceId) &&
      !INTEGRATION_ID.test(q.sourceId)
    ) {
      throw invalidSource('source_id must be a domain name, global, or a Vault integration id');
    }
    const matching = refs.filter(
      (r) =>
        r.key === q.key &&
        (sourceType === undefined || sourceType === '' || r.sourceType === sourceType) &&
        (q.sourceId === undefined || q.sourceId === '' || r.sourceId === q.sourceId),
    );
    // A source named explicitly means the structured reference where a ${secrets.KEY} of that domain names the key too.
    if (matching.length > 1 && sourceType) {
      const structured = matching.filter((r) => !r.legacy);
      if (structured.length === 1) matching.splice(0, matching.length, ...structured);
    }
    const [only] = matching;
    if (only && matching.length === 1) return only;
    if (matching.length > 1) {
      throw referenceAmbiguous(
        q.key,
        matching.map((r) => (r.legacy ? `\${secrets.${r.key}}` : `${r.sourceType}:${r.sourceId}`)),
      );
    }
    const d = holder.deployment;
    try {
      await this.deps.repo.recordAudit(
        auditRecord({
          service: 'deployer',
          actor: d.principal,
          ...(d.groups.length > 0 ? { groups: d.groups } : {}),
          action: RUNTIME_READ_ACTION,
          domain: d.domain,
          resource: `${sourceType || 'ANY'}:${q.sourceId || '*'}/${q.key}`,
          outcome: 'deny',
          reason: `runtime.reference_not_in_spec: deployment ${d.id} of workload ${d.workload} asked with its workload token for a key its spec does not reference`,
          requestId: d.id,
        }),
      );
    } catch (err) {
      this.deps.logger.warn('audit record of a refused runtime read not written', { deploymentId: d.id, err });
    }
    throw referenceNotInSpec(q.key);
  }
}
