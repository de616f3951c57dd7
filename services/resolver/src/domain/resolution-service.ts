import { randomUUID } from 'node:crypto';
import { seal, type SealPublicKey } from '@latchkey/crypto';
import {
  connectionTestBinding,
  runtimeReadBinding,
  type PlanReply,
  type PlanRequest,
  type RuntimeReadReply,
  type RuntimeReadRequest,
  type WorkloadDeploying,
} from '@latchkey/events';
import type { Authorizer } from '@latchkey/authz';
import { planRequestProblem, runtimeReadProblem } from './plan-request.js';
import type { AuditTrail, ResolutionPublisher, ValueSource } from './ports.js';
import { IntegrationBundles } from './integration-bundles.js';
import { authorizeReferences, type AuthorizationDeps } from './reference-authorization.js';
import { readReferences, type ReadMode } from './reference-read.js';
import {
  askedList,
  connectionTestSubject,
  deploymentSubject,
  dryRunResource,
  dryRunSubject,
  failureList,
  failureOutcome,
  readList,
  runtimeReadSubject,
  writeReadRecord,
} from './resolution-audit.js';
import { auditUnavailable, invalidRequest, retryLater } from './resolution-errors.js';
import {
  isFailed,
  isResolved,
  Outcomes,
  resolutionWarnings,
  toFailure,
  toPlannedReference,
  toVersion,
  type Failed,
  type Outcome,
  type Question,
  type Resolved,
} from './resolution-outcome.js';
import { DEFAULT_MAX_ATTEMPTS, retryVerdict } from './resolution-retry.js';

export { RETRYABLE_CODES } from './resolution-errors.js';
export { DEFAULT_MAX_ATTEMPTS } from './resolution-retry.js';

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
  /**
   * features.secretsV2 (default true). False, the legacy mode: placeholders
   * read global scope only; structured references fail unread.
   */
  secretsV2?: boolean;
}

/**
 * Turns a deployment's references into sealed values or into the full list of
 * reasons why not. All or nothing: one bad reference fails the deployment.
 * Every reference is checked in one batched ras call and read in one catalog
 * call (one read per backend per distinct key is the catalog's part).
 */
export class ResolutionService {
  private readonly maxAttempts: number;
  private readonly limits: { maxValueBytes: number; maxTotalBytes: number };
  /** What the permission check needs, with the integrations' bundles remembered across resolutions. */
  readonly #authorization: AuthorizationDeps;

  constructor(private readonly deps: ResolutionDeps) {
    this.#authorization = {
      authorizer: deps.authorizer,
      bundles: new IntegrationBundles(deps.values),
      ...(deps.secretsV2 === undefined ? {} : { secretsV2: deps.secretsV2 }),
    };
    this.maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.limits = { maxValueBytes: deps.maxValueBytes ?? 65_536, maxTotalBytes: deps.maxTotalBytes ?? 512 * 1024 };
  }

  /**
   * Resolves one deployment. `attempt` is 1 for the first delivery of its
   * event. When every failure is retryable and attempts remain, the
   * deployment is told it waits (`workload.resolution_retrying`) and a
   * retryable error is thrown: the consumer runner redelivers the event after
   * a jittered, growing delay. Otherwise the outcome is published once.
   */
  async resolve(ev: WorkloadDeploying, attempt = 1): Promise<void> {
    const question = {
      domain: ev.domain,
      principal: ev.principal,
      groups: ev.groups,
      references: ev.references,
      requestId: ev.deploymentId,
      deploymentId: ev.deploymentId,
    };
    const outcomes = await this.#evaluate(question, 'values');
    return this.#holding(outcomes, async () => {
      const failed = outcomes.filter(isFailed);
      if (failed.length > 0) return this.#fail(ev, failed, attempt);
      return this.#serve(ev, outcomes, attempt);
    });
  }

  /** Publishes that the deployment waits (and throws to be redelivered), or that it failed (audited). */
  async #fail(ev: WorkloadDeploying, failed: Failed[], attempt: number): Promise<void> {
    const verdict = retryVerdict(failed, attempt, this.maxAttempts);
    if (verdict.retry) {
      await this.deps.publisher.retrying({
        deploymentId: ev.deploymentId,
        domain: ev.domain,
        attempt,
        maxAttempts: this.maxAttempts,
        failures: failed.map(toFailure),
      });
      throw retryLater(
        ev.deploymentId,
        attempt,
        this.maxAttempts,
        failed.map((f) => f.code),
      );
    }
    const { failures } = verdict;
    await writeReadRecord(
      this.deps,
      deploymentSubject(ev),
      failureOutcome(failures),
      askedList(ev.references),
      failures.map((f) => `${f.key}: ${f.code}`).join(', '),
    );
    await this.deps.publisher.failed({ deploymentId: ev.deploymentId, domain: ev.domain, failures });
  }

  /** Records the read, then seals the values to the deployer and publishes them (or refuses, fail-closed). */
  async #serve(ev: WorkloadDeploying, outcomes: Outcome[], attempt: number): Promise<void> {
    const resolved = outcomes.filter(isResolved);
    const versions = resolved.map(toVersion);
    // The record of the read is stored before any value leaves; fail-closed refuses rather than serve unaudited.
    if (
      versions.length > 0 &&
      !(await writeReadRecord(this.deps, deploymentSubject(ev), 'ok', readList(versions), '')) &&
      this.deps.auditFailClosed
    ) {
      const refused = auditUnavailable();
      await this.deps.publisher.failed({
        deploymentId: ev.deploymentId,
        domain: ev.domain,
        failures: ev.references.map((r) => ({
          refId: r.refId,
          key: r.key,
          code: refused.code,
          message: refused.message,
        })),
      });
      return;
    }
    const warnings = resolutionWarnings(ev.domain, outcomes);
    if (attempt > 1) {
      warnings.push(`resolved on attempt ${attempt} of ${this.maxAttempts}, after waiting for an unavailable backend`);
    }
    const plaintext = sealedPlaintext(resolved);
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
   * `connection_test` is a dry run whose values, when all resolved and the
   * read recorded, are sealed to the deployers' key for that request only.
   */
  async plan(req: PlanRequest): Promise<PlanReply> {
    const problem = planRequestProblem(req);
    if (problem) return invalidRequest(problem);
    const testing = req.mode === 'connection_test';
    const requestId = testing ? `connection-test:${req.requestId ?? ''}` : `dry-run:${randomUUID()}`;
    const question = {
      domain: req.domain,
      principal: req.principal,
      groups: req.groups,
      references: req.references,
      requestId,
    };
    const outcomes = await this.#evaluate(question, req.mode === 'check' ? 'keys' : 'values');
    return this.#holding(outcomes, async (): Promise<PlanReply> => {
      const failed = outcomes.filter(isFailed);
      let recorded = true;
      if (req.mode !== 'check') {
        // Values were read (discarded, or sealed for a connection test): that is recorded like any read.
        recorded = await writeReadRecord(
          this.deps,
          testing ? connectionTestSubject(req, requestId) : dryRunSubject(req, requestId),
          failed.length === 0 ? 'ok' : failureOutcome(failed),
          dryRunResource(outcomes.filter(isResolved), req.references),
          failureList(failed),
        );
      }
      const answer = {
        ok: true as const,
        references: outcomes.map(toPlannedReference),
        warnings: resolutionWarnings(req.domain, outcomes),
      };
      if (!testing || failed.length > 0) return answer;
      // A connection test's values leave the resolver: unaudited, they do not (fail-closed).
      if (!recorded && this.deps.auditFailClosed) {
        const refused = auditUnavailable();
        return { ok: false, code: refused.code, message: refused.message };
      }
      const plaintext = sealedPlaintext(outcomes.filter(isResolved));
      try {
        return {
          ...answer,
          sealed: seal(this.deps.recipient, plaintext, connectionTestBinding(req.requestId ?? '')),
        };
      } finally {
        plaintext.fill(0);
      }
    });
  }

  /**
   * A running workload reads one reference of its own deployment (the
   * deployer checked its token and that the reference is the deployment's):
   * authorized with ras as the deploying principal and its groups, exactly
   * as for the deployment, read at the current version, recorded (action
   * secret.runtime_read: principal, deployment, key, version) before the
   * value leaves, and sealed to the deployers' key for this request only. A
   * refusal is recorded too. Nothing is published.
   */
  async runtimeRead(req: RuntimeReadRequest): Promise<RuntimeReadReply> {
    const problem = runtimeReadProblem(req);
    if (problem) return invalidRequest(problem);
    const subject = runtimeReadSubject(req);
    const question = {
      domain: req.domain,
      principal: req.principal,
      groups: req.groups,
      references: [req.reference],
      requestId: req.deploymentId,
    };
    const outcomes = await this.#evaluate(question, 'values');
    return this.#holding(outcomes, async (): Promise<RuntimeReadReply> => {
      const failed = outcomes.filter(isFailed);
      const first = failed[0];
      if (first) {
        await writeReadRecord(
          this.deps,
          subject,
          failureOutcome(failed),
          askedList([req.reference]),
          failureList(failed),
        );
        return { ok: false, code: first.code, message: first.message };
      }
      const resolved = outcomes.filter(isResolved);
      const one = resolved[0];
      if (!one || resolved.length !== 1) {
        return { ok: false, code: 'resolver.error', message: 'the reference did not resolve to one value' };
      }
      const versions = resolved.map(toVersion);
      if (!(await writeReadRecord(this.deps, subject, 'ok', readList(versions), '')) && this.deps.auditFailClosed) {
        const refused = auditUnavailable();
        return { ok: false, code: refused.code, message: refused.message };
      }
      return {
        ok: true,
        key: one.ref.key,
        sourceType: one.ref.sourceType,
        scope: one.scope,
        version: one.version,
        sealed: seal(this.deps.recipient, one.value ?? Buffer.alloc(0), runtimeReadBinding(req.requestId ?? '')),
      };
    });
  }

  /**
   * The permission check, then the read, for every reference at once. Never
   * throws for a backend that is unavailable: each reference it concerns
   * gets a retryable failure. Values are read in `values` mode only.
   */
  async #evaluate(q: Question, mode: ReadMode): Promise<Outcome[]> {
    const outcomes = new Outcomes();
    const reads = await authorizeReferences(this.#authorization, q, outcomes);
    await readReferences(this.deps.values, q, reads, mode, this.limits, outcomes);
    return outcomes.inOrder(q.references);
  }
}

/** The values of a resolved deployment, by reference id, as the JSON the deployer opens. */
function sealedPlaintext(resolved: readonly Resolved[]): Buffer {
  return Buffer.from(
    JSON.stringify(Object.fromEntries(resolved.map((o) => [o.ref.refId, o.value?.toString('utf8') ?? '']))),
  );
}
