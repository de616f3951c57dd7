import { LatchkeyError } from '@latchkey/errors';
import type { KeyPresenceResult, ValueRead, ValueReadResult, ValueSource } from './ports.js';
import {
  catalogNoAnswer,
  catalogRefused,
  catalogUnreadable,
  valuesTooLarge,
  valueTooLarge,
} from './resolution-errors.js';
import type { Outcomes, Question } from './resolution-outcome.js';

/** `values` reads the values (a deployment, a dry run); `keys` only asks whether the keys exist (a check). */
export type ReadMode = 'values' | 'keys';

export interface ReadLimits {
  /** The largest value injected, in bytes. */
  maxValueBytes: number;
  /** The largest sum of one deployment's values, in bytes. */
  maxTotalBytes: number;
}

/**
 * The read step: one catalog call for every permitted read. Never throws for
 * a catalog that is unavailable: each read it concerns gets a retryable
 * failure. A reference the catalog did not answer fails; values over the
 * limits are wiped and fail.
 */
export async function readReferences(
  values: Pick<ValueSource, 'read' | 'findKeys'>,
  q: Question,
  reads: ValueRead[],
  mode: ReadMode,
  limits: ReadLimits,
  outcomes: Outcomes,
): Promise<void> {
  if (reads.length > 0) {
    const byId = new Map(q.references.map((r) => [r.refId, r]));
    let results: (ValueReadResult | KeyPresenceResult)[] = [];
    try {
      results = mode === 'values' ? await values.read(reads, q.deploymentId) : await values.findKeys(reads);
    } catch (err) {
      if (!(err instanceof LatchkeyError)) throw err;
      for (const r of reads) outcomes.fail(byId.get(r.refId)!, catalogUnreadable(err));
    }
    for (const r of results) {
      const ref = byId.get(r.refId);
      if (ref) record(ref, r, limits.maxValueBytes, outcomes);
    }
  }
  // A reference the catalog did not answer is a failure, not a silent gap.
  for (const ref of q.references) if (!outcomes.has(ref)) outcomes.fail(ref, catalogNoAnswer(ref));
  capTotal(outcomes, limits.maxTotalBytes);
}

function record(
  ref: Question['references'][number],
  r: ValueReadResult | KeyPresenceResult,
  maxValueBytes: number,
  outcomes: Outcomes,
): void {
  if (!r.found) {
    outcomes.fail(ref, catalogRefused(r.code, r.message));
    return;
  }
  const value = 'value' in r ? r.value : undefined;
  if (value && value.length > maxValueBytes) {
    value.fill(0);
    outcomes.fail(ref, valueTooLarge(ref, r, value.length, maxValueBytes));
    return;
  }
  outcomes.resolve({
    ref,
    ok: true,
    scope: r.scope,
    version: r.version,
    shadowedGlobal: r.shadowedGlobal,
    ...(value ? { value } : {}),
  });
}

/** Values that together exceed what one deployment may receive: every reference that carries one fails. */
function capTotal(outcomes: Outcomes, maxTotalBytes: number): void {
  const all = [...outcomes.values()];
  const total = all.reduce((n, o) => n + (o.ok ? (o.value?.length ?? 0) : 0), 0);
  if (total <= maxTotalBytes) return;
  for (const o of all) {
    if (!o.ok || !o.value) continue;
    o.value.fill(0);
    outcomes.fail(o.ref, valuesTooLarge(total, maxTotalBytes));
  }
}
