import { randomUUID } from 'node:crypto';
import { seal, type SealPublicKey } from '@latchkey/crypto';
import { LatchkeyError } from '@latchkey/errors';
import { MIN_REDACTABLE_BYTES } from '@latchkey/logger';
import {
  auditRecord,
  DOMAIN_NAME,
  GLOBAL_SCOPE,
  type PlannedReference,
  type PlanReply,
  type PlanRequest,
  type ReferenceFailure,
  type ReferenceSpec,
  type ResolvedVersion,
  type WorkloadDeploying,
} from '@latchkey/events';
import type { Authorizer, Decision } from '@latchkey/authz';
import type {
  AuditTrail,
  KeyPresenceResult,
  ResolutionPublisher,
  ValueRead,
  ValueReadResult,
  ValueSource,
} from './ports.js';

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
  /** Attempts (the first included) while only backends are unavailable; default 6. */
  maxAttempts?: number;
  /** The largest value injected, in bytes; default 65536 (the catalog's default limit). */
  maxValueBytes?: number;
  /** The largest sum of one deployment's values, in bytes; default 512 KiB (they travel in one message). */
  maxTotalBytes?: number;
  /** The service logger's redactor: values read are masked in its lines until they are sealed. */
  masker?: { add(values: Iterable<string>): void; remove(values: Iterable<string>): void };
}

export const DEFAULT_MAX_ATTEMPTS = 6;

/**
 * Per-reference failures that a later attempt may not meet: the team's
 * Vault was unreachable, sealed or slow. (A catalog or ras that cannot be
 * reached, or a managed backend that is unavailable, fails the whole read
 * with a retryable error, which counts the same.)
 */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['vault.unreachable', 'vault.sealed', 'vault.timeout']);

/** What a resolution read: each reference's source (the scope that answered), key and version, never a value. */
function readList(versions: readonly ResolvedVersion[]): string {
  return versions.map((v) => `${v.sourceType}:${v.scope}/${v.key}@v${v.version}`).join(', ');
}

/** One reference, resolved or not. A value is present only on a resolution that read values. */
type Outcome =
  | { ref: ReferenceSpec; ok: true; scope: string; version: number; shadowedGlobal: boolean; value?: Buffer }
  | { ref: ReferenceSpec; ok: false; code: string; message: string; retryable: boolean };

type Failed = Extract<Outcome, { ok: false }>;

const toFailure = (f: Failed): ReferenceFailure => ({
  refId: f.ref.refId,
  key: f.ref.key,
  code: f.code,
  message: f.message,
});

/** What an audit record of a read is about. */
interface AuditSubject {
  principal: string;
  /** The principal's groups (from its identity), when it has any. */
  groups?: readonly string[] | undefined;
  domain: string;
  requestId: string;
  /** The reason recorded when nothing else needs saying. */
  what: string;
  /** How a failure to write it is logged. */
  logFields: Record<string, string>;
}

/** Who asks, where, and for what: the common part of a deployment and a plan. */
interface Question {
  domain: string;
  principal: string;
  groups?: readonly string[];
  references: ReferenceSpec[];
  requestId: string;
}

/**
 * Turns a deployment's references into sealed values or into the full list of
 * reasons why not. All or nothing: one bad reference fails the deployment.
 * Every reference is checked in one batched ras call and read in one catalog
 * call (one read per backend per distinct key is the catalog's part).
 */
export class ResolutionService {
  private readonly maxAttempts: number;
  private readonly maxValueBytes: number;
  private readonly maxTotalBytes: number;

  constructor(private readonly deps: ResolutionDeps) {
    this.maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.maxValueBytes = deps.maxValueBytes ?? 65_536;
    this.maxTotalBytes = deps.maxTotalBytes ?? 512 * 1024;
  }

  /**
   * Resolves one deployment. `attempt` is 1 for the first delivery of its
   * event. When every failure is retryable and attempts remain, the
   * deployment is told it waits (`workload.resolution_retrying`) and a
   * retryable error is thrown: the consumer runner redelivers the event after
   * a jittered, growing delay. Otherwise the outcome is published once.
   */
  async resolve(ev: WorkloadDeploying, attempt = 1): Promise<void> {
    const outcomes = await this.#evaluate(
      {
        domain: ev.domain,
        principal: ev.principal,
        groups: ev.groups,
        references: ev.references,
        requestId: ev.deploymentId,
      },
      'values',
    );
    return this.#holding(outcomes, async () => {
      const failed = outcomes.filter((o): o is Failed => !o.ok);
      if (failed.length > 0) {
        const permanent = failed.some((f) => !f.retryable);
        if (!permanent && attempt < this.maxAttempts) {
          await this.deps.publisher.retrying({
            deploymentId: ev.deploymentId,
            domain: ev.domain,
            attempt,
            maxAttempts: this.maxAttempts,
            failures: failed.map(toFailure),
          });
          throw new LatchkeyError(
            'resolution.retry',
            `deployment ${ev.deploymentId}: attempt ${attempt} of ${this.maxAttempts} found a backend unavailable (${[...new Set(failed.map((f) => f.code))].join(', ')})`,
            { kind: 'unavailable', retryable: true },
          );
        }
        const failures = failed.map((f) =>
          toFailure(
            f.retryable && !permanent
              ? { ...f, message: `${f.message} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'})` }
              : f,
          ),
        );
        await this.#audit(
          this.#recordOf(ev),
          failures.some((f) => f.code.startsWith('ras.')) ? 'deny' : 'error',
          ev.references.map((r) => `${r.sourceType}:${r.sourceId}/${r.key}`).join(', '),
          failures.map((f) => `${f.key}: ${f.code}`).join(', '),
        );
        await this.deps.publisher.failed({ deploymentId: ev.deploymentId, domain: ev.domain, failures });
        return;
      }
      const resolved = outcomes.filter((o) => o.ok);
      const versions: ResolvedVersion[] = resolved.map((o) => ({
        refId: o.ref.refId,
        key: o.ref.key,
        sourceType: o.ref.sourceType,
        scope: o.scope,
        version: o.version,
      }));
      // The record of the read is stored before any value leaves; fail-closed refuses rather than serve unaudited.
      if (
        versions.length > 0 &&
        !(await this.#audit(this.#recordOf(ev), 'ok', readList(versions), '')) &&
        this.deps.auditFailClosed
      ) {
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
      const warnings = this.#warnings(ev.domain, outcomes);
      if (attempt > 1) {
        warnings.push(
          `resolved on attempt ${attempt} of ${this.maxAttempts}, after waiting for an unavailable backend`,
        );
      }
      const plaintext = Buffer.from(
        JSON.stringify(Object.fromEntries(resolved.map((o) => [o.ref.refId, o.value?.toString('utf8') ?? '']))),
      );
      try {
        const sealed = seal(this.deps.recipient, plaintext, ev.deploymentId);
        await this.deps.publisher.resolved({
          deploymentId: ev.deploymentId,
          domain: ev.domain,
          versions,
          sealed,
          warnings,
        });
      } finally {
        plaintext.fill(0);
      }
    });
  }

  /**
   * Runs `fn` while the values read are masked in this service's log lines;
   * afterwards they are unmasked and their buffers zeroed.
   */
  async #holding<T>(outcomes: Outcome[], fn: () => Promise<T>): Promise<T> {
    const held = outcomes.flatMap((o) => (o.ok && o.value ? [o.value.toString('utf8')] : []));
    this.deps.masker?.add(held);
    try {
      return await fn();
    } finally {
      this.deps.masker?.remove(held);
      for (const o of outcomes) if (o.ok) o.value?.fill(0);
    }
  }

  /**
   * A resolution without a deployment. `check` reads no value. `dry_run`
   * does everything a deployment does up to sealing, then discards the
   * values here: the reply carries scopes and versions only, nothing is
   * published, and a retryable failure is reported rather than waited for.
   */
  async plan(req: PlanRequest): Promise<PlanReply> {
    const problem = invalidPlanRequest(req);
    if (problem) return { ok: false, code: 'resolver.invalid_request', message: problem };
    const requestId = `dry-run:${randomUUID()}`;
    const outcomes = await this.#evaluate(
      {
        domain: req.domain,
        principal: req.principal,
        groups: req.groups,
        references: req.references,
        requestId,
      },
      req.mode === 'dry_run' ? 'values' : 'keys',
    );
    return this.#holding(outcomes, async () => {
      if (req.mode === 'dry_run') {
        const ok = outcomes.filter((o) => o.ok);
        const failed = outcomes.filter((o): o is Failed => !o.ok);
        // Values were read (and are discarded): that is recorded like any read.
        await this.#audit(
          {
            principal: req.principal,
            groups: req.groups,
            domain: req.domain,
            requestId,
            what: `dry run of workload ${req.workload} (values read and discarded, nothing deployed)`,
            logFields: { requestId, workload: req.workload },
          },
          failed.length === 0 ? 'ok' : failed.some((f) => f.code.startsWith('ras.')) ? 'deny' : 'error',
          ok.map((o) => `${o.ref.sourceType}:${o.scope}/${o.ref.key}@v${o.version}`).join(', ') ||
            req.references.map((r) => `${r.sourceType}:${r.sourceId}/${r.key}`).join(', '),
          failed.map((f) => `${f.ref.key}: ${f.code}`).join(', '),
        );
      }
      return {
        ok: true,
        references: outcomes.map((o): PlannedReference =>
          o.ok
            ? {
                refId: o.ref.refId,
                key: o.ref.key,
                sourceType: o.ref.sourceType,
                ok: true,
                scope: o.scope,
                version: o.version,
                shadowedGlobal: o.shadowedGlobal,
                code: '',
                message: '',
                retryable: false,
              }
            : {
                refId: o.ref.refId,
                key: o.ref.key,
                sourceType: o.ref.sourceType,
                ok: false,
                scope: '',
                version: 0,
                shadowedGlobal: false,
                code: o.code,
                message: o.message,
                retryable: o.retryable,
              },
        ),
        warnings: this.#warnings(req.domain, outcomes),
      };
    });
  }

  /**
   * The permission check and the read, for every reference at once. Never
   * throws for a backend that is unavailable: each reference it concerns
   * gets a retryable failure. Values are read in `values` mode only.
   */
  async #evaluate(q: Question, mode: 'values' | 'keys'): Promise<Outcome[]> {
    const outcomes = new Map<string, Outcome>();
    const fail = (ref: ReferenceSpec, code: string, message: string, retryable = false) =>
      outcomes.set(ref.refId, { ref, ok: false, code, message, retryable });

    // A Vault reference also needs USE on its integration's bundle, which the catalog knows.
    const vaultIds = [...new Set(q.references.filter((r) => r.sourceType === 'VAULT').map((r) => r.sourceId))];
    let bundleOf = new Map<string, string>();
    if (vaultIds.length > 0) {
      try {
        bundleOf = await this.deps.values.integrationBundles(q.domain, vaultIds);
      } catch (err) {
        if (!(err instanceof LatchkeyError)) throw err;
        for (const ref of q.references) {
          if (ref.sourceType !== 'VAULT') continue;
          fail(
            ref,
            err.retryable ? 'catalog.unavailable' : err.code,
            `the bundle of Vault integration ${ref.sourceId} could not be looked up: ${err.code}: ${err.message}`,
            err.retryable,
          );
        }
      }
    }
    const bundles = [...new Set(bundleOf.values())];
    const who = {
      principal: q.principal,
      ...(q.groups && q.groups.length > 0 ? { groups: q.groups } : {}),
      domain: q.domain,
      requestId: q.requestId,
    };

    let decisions;
    let bundleDecisions: Map<string, Decision>;
    try {
      // One batched permission check for every reference, and for the bundle of every Vault integration.
      const all = await this.deps.authorizer.checkBatch([
        ...q.references.map((r) => ({
          ...who,
          action: 'secret.use',
          resource: r.key,
          ...(!r.legacy && r.sourceType === 'MANAGED' && r.sourceId === GLOBAL_SCOPE ? { scope: GLOBAL_SCOPE } : {}),
        })),
        ...bundles.map((b) => ({ ...who, action: 'bundle.use', resource: b })),
      ]);
      decisions = all.slice(0, q.references.length);
      bundleDecisions = new Map(bundles.map((b, n) => [b, all[q.references.length + n]!]));
    } catch (err) {
      if (!(err instanceof LatchkeyError)) throw err;
      for (const ref of q.references) {
        fail(
          ref,
          err.retryable ? 'ras.unavailable' : err.code,
          `permissions could not be checked: ras answered ${err.code}: ${err.message}`,
          err.retryable,
        );
      }
      return q.references.map((r) => outcomes.get(r.refId)!);
    }

    const reads: ValueRead[] = [];
    q.references.forEach((ref, i) => {
      if (outcomes.has(ref.refId)) return;
      const d = decisions[i];
      if (!d?.allowed) {
        fail(ref, d?.code || 'ras.permission_denied', d?.reason || 'not permitted');
        return;
      }
      if (ref.sourceType === 'VAULT') {
        const bundle = bundleOf.get(ref.sourceId);
        const b = bundle === undefined ? undefined : bundleDecisions.get(bundle);
        // A missing decision for the bundle refuses, as a missing one for the key does.
        if (bundle !== undefined && !b?.allowed) {
          fail(
            ref,
            b?.code || 'ras.permission_denied',
            `reference ${ref.key} of Vault integration ${ref.sourceId} needs USE on its bundle ${bundle}: ${b?.reason || 'not permitted'}`,
          );
          return;
        }
        // An integration the domain does not hold: the catalog's read answers it, as for any missing one.
        // The catalog answers only if the integration belongs to the workload's domain.
        reads.push({
          refId: ref.refId,
          key: ref.key,
          scope: q.domain,
          fallbackToGlobal: false,
          sourceType: 'VAULT',
          integrationId: ref.sourceId,
        });
        return;
      }
      const scope = ref.legacy ? q.domain : ref.sourceId;
      if (scope !== q.domain && scope !== GLOBAL_SCOPE) {
        fail(
          ref,
          'ras.cross_domain',
          `reference ${ref.key} names domain ${scope}, but the workload is in ${q.domain}: a workload may use its own domain's secrets and global ones`,
        );
        return;
      }
      reads.push({ refId: ref.refId, key: ref.key, scope, fallbackToGlobal: ref.legacy });
    });

    if (reads.length > 0) {
      let results: (ValueReadResult | KeyPresenceResult)[] = [];
      try {
        results = mode === 'values' ? await this.deps.values.read(reads) : await this.deps.values.findKeys(reads);
      } catch (err) {
        if (!(err instanceof LatchkeyError)) throw err;
        const byId = new Map(q.references.map((r) => [r.refId, r]));
        for (const r of reads) {
          fail(
            byId.get(r.refId)!,
            err.retryable ? 'catalog.unavailable' : err.code,
            `the catalog could not be read: ${err.code}: ${err.message}`,
            err.retryable,
          );
        }
      }
      const byId = new Map(q.references.map((x) => [x.refId, x]));
      for (const r of results) {
        const ref = byId.get(r.refId);
        if (!ref) continue;
        if (!r.found) {
          fail(ref, r.code, r.message, RETRYABLE_CODES.has(r.code));
          continue;
        }
        const value = 'value' in r ? r.value : undefined;
        if (value && value.length > this.maxValueBytes) {
          value.fill(0);
          fail(
            ref,
            'secret.value_too_large',
            `the value of ${ref.key} (${r.scope} version ${r.version}) is ${value.length} bytes; at most ${this.maxValueBytes} bytes are injected: keep large artifacts such as certificates or keystores in object storage and reference a smaller secret`,
          );
          continue;
        }
        outcomes.set(ref.refId, {
          ref,
          ok: true,
          scope: r.scope,
          version: r.version,
          shadowedGlobal: r.shadowedGlobal,
          ...(value ? { value } : {}),
        });
      }
    }
    // A reference the catalog did not answer is a failure, not a silent gap.
    for (const ref of q.references) {
      if (!outcomes.has(ref.refId)) fail(ref, 'catalog.no_answer', `the catalog gave no answer for ${ref.key}`);
    }

    const total = [...outcomes.values()].reduce((n, o) => n + (o.ok ? (o.value?.length ?? 0) : 0), 0);
    if (total > this.maxTotalBytes) {
      for (const o of outcomes.values()) {
        if (!o.ok || !o.value) continue;
        o.value.fill(0);
        fail(
          o.ref,
          'deployment.values_too_large',
          `the values of this deployment come to ${total} bytes; at most ${this.maxTotalBytes} bytes are injected into one deployment`,
        );
      }
    }
    return q.references.map((r) => outcomes.get(r.refId)!);
  }

  #warnings(domain: string, outcomes: Outcome[]): string[] {
    const shadowing = outcomes
      .filter((o) => o.ok && o.shadowedGlobal)
      .map(
        (o) =>
          `\${secrets.${o.ref.key}} resolves to domain ${domain}'s ${o.ref.key}, which shadows the global key of the same name: reference {"key": "${o.ref.key}", "source": {"type": "MANAGED", "id": "global"}} to use the global one`,
      );
    // Managed values that short are refused when stored; a team's Vault may hold one.
    const short = outcomes
      .filter((o) => o.ok && o.value !== undefined && o.value.length < MIN_REDACTABLE_BYTES)
      .map(
        (o) =>
          `${o.ref.key} (${o.ref.refId}) is shorter than ${MIN_REDACTABLE_BYTES} bytes: it is injected, but it could not be redacted from the workload's output or the logs`,
      );
    return [...shadowing, ...short];
  }

  #recordOf(ev: WorkloadDeploying): AuditSubject {
    return {
      principal: ev.principal,
      groups: ev.groups,
      domain: ev.domain,
      requestId: ev.deploymentId,
      what: `deployment ${ev.deploymentId} of workload ${ev.workload}`,
      logFields: { deploymentId: ev.deploymentId },
    };
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
  async #audit(r: AuditSubject, outcome: 'ok' | 'deny' | 'error', resource: string, reason: string): Promise<boolean> {
    try {
      await this.deps.audit.write(
        auditRecord({
          service: 'resolver',
          actor: r.principal,
          ...(r.groups && r.groups.length > 0 ? { groups: r.groups } : {}),
          action: 'secret.read',
          domain: r.domain,
          resource,
          outcome,
          reason: reason === '' ? r.what : reason,
          requestId: r.requestId,
        }),
      );
      return true;
    } catch (err) {
      this.deps.logger.warn(
        this.deps.auditFailClosed
          ? 'audit record not written: resolution refused (audit.failClosed)'
          : 'audit record not written: resolution served unaudited (audit.failClosed is off)',
        {
          ...r.logFields,
          code: err instanceof LatchkeyError ? err.code : ((err as { code?: string }).code ?? 'error'),
        },
      );
      return false;
    }
  }
}

/** What is wrong with a plan request from the bus, if anything (it comes from a deployer, but is checked). */
function invalidPlanRequest(req: PlanRequest): string | undefined {
  if (typeof req !== 'object' || req === null) return 'the request is not a JSON object';
  if (req.mode !== 'check' && req.mode !== 'dry_run') return 'mode must be check or dry_run';
  if (typeof req.domain !== 'string' || !DOMAIN_NAME.test(req.domain)) return 'domain is not a domain name';
  if (typeof req.principal !== 'string' || req.principal === '') return 'principal is missing';
  if (!Array.isArray(req.references)) return 'references must be a list';
  return undefined;
}
