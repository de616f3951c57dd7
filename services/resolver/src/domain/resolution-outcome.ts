import { MIN_REDACTABLE_BYTES } from '@latchkey/logger';
import type { PlannedReference, ReferenceFailure, ReferenceSpec, ResolvedVersion } from '@latchkey/events';
import type { ReferenceProblem } from './resolution-errors.js';

/** One reference, resolved or not. A value is present only on a resolution that read values. */
export type Outcome =
  | { ref: ReferenceSpec; ok: true; scope: string; version: number; shadowedGlobal: boolean; value?: Buffer }
  | ({ ref: ReferenceSpec; ok: false } & ReferenceProblem);

export type Failed = Extract<Outcome, { ok: false }>;
export type Resolved = Extract<Outcome, { ok: true }>;

/** Who asks, where, and for what: the common part of a deployment and a plan. */
export interface Question {
  domain: string;
  principal: string;
  groups?: readonly string[];
  references: ReferenceSpec[];
  requestId: string;
  /**
   * Set for a deployment's resolution only: the catalog issues the
   * credentials of a Vault dynamic-secrets path under a lease of it. Dry
   * runs, connection tests and runtime reads have none, and cannot read them.
   */
  deploymentId?: string;
}

/** The outcomes of one question's references, filled in step by step (a later failure replaces an answer). */
export class Outcomes {
  readonly #byRef = new Map<string, Outcome>();

  fail(ref: ReferenceSpec, why: ReferenceProblem): void {
    this.#byRef.set(ref.refId, { ref, ok: false, ...why });
  }

  resolve(outcome: Resolved): void {
    this.#byRef.set(outcome.ref.refId, outcome);
  }

  has(ref: ReferenceSpec): boolean {
    return this.#byRef.has(ref.refId);
  }

  values(): IterableIterator<Outcome> {
    return this.#byRef.values();
  }

  /** In the order of `refs`, each of which has an outcome by now. */
  inOrder(refs: readonly ReferenceSpec[]): Outcome[] {
    return refs.map((r) => this.#byRef.get(r.refId)!);
  }
}

export const isFailed = (o: Outcome): o is Failed => !o.ok;
export const isResolved = (o: Outcome): o is Resolved => o.ok;

export const toFailure = (f: Failed): ReferenceFailure => ({
  refId: f.ref.refId,
  key: f.ref.key,
  code: f.code,
  message: f.message,
});

export const toVersion = (o: Resolved): ResolvedVersion => ({
  refId: o.ref.refId,
  key: o.ref.key,
  sourceType: o.ref.sourceType,
  scope: o.scope,
  version: o.version,
});

/** A plan's answer for one reference: scope and version, never a value. */
export function toPlannedReference(o: Outcome): PlannedReference {
  const ref = { refId: o.ref.refId, key: o.ref.key, sourceType: o.ref.sourceType };
  return o.ok
    ? {
        ...ref,
        ok: true,
        scope: o.scope,
        version: o.version,
        shadowedGlobal: o.shadowedGlobal,
        code: '',
        message: '',
        retryable: false,
      }
    : {
        ...ref,
        ok: false,
        scope: '',
        version: 0,
        shadowedGlobal: false,
        code: o.code,
        message: o.message,
        retryable: o.retryable,
      };
}

/** What the deployment should know although it resolved: shadowed global keys, values too short to redact. */
export function resolutionWarnings(domain: string, outcomes: Outcome[]): string[] {
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
