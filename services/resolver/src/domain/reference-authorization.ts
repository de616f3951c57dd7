import { LatchkeyError } from '@latchkey/errors';
import { GLOBAL_SCOPE, type ReferenceSpec } from '@latchkey/events';
import type { AuthorizationQuestion, Authorizer, Decision } from '@latchkey/authz';
import type { BundleLookup, IntegrationBundles } from './integration-bundles.js';
import type { ValueRead } from './ports.js';
import {
  bundleDenied,
  bundleLookupFailed,
  crossDomain,
  permissionsUnchecked,
  referenceDenied,
  secretsV2Disabled,
} from './resolution-errors.js';
import type { Outcomes, Question } from './resolution-outcome.js';

export interface AuthorizationDeps {
  authorizer: Authorizer;
  /** Which bundle each Vault integration belongs to (metadata, from the catalog, remembered). */
  bundles: IntegrationBundles;
  /**
   * features.secretsV2 (default true). False, the legacy mode: a
   * `${secrets.KEY}` placeholder reads global scope only (never the
   * workload's domain), and a structured reference fails unread.
   */
  secretsV2?: boolean;
}

/** ras's answers: one per reference, in order, and one per bundle of a Vault reference's integration. */
interface Answers {
  decisions: (Decision | undefined)[];
  bundleOf: Map<string, string>;
  bundleDecisions: Map<string, Decision>;
}

/**
 * The authorization step: which references may be read, and how. Every
 * reference is checked in one batched ras call, with the bundle of every Vault
 * integration named (which the catalog knows). A reference that may not be
 * read gets its failure in `outcomes`; the others come back as reads. Returns
 * no read at all when ras could not answer (every reference then failed).
 */
export async function authorizeReferences(
  deps: AuthorizationDeps,
  q: Question,
  outcomes: Outcomes,
): Promise<ValueRead[]> {
  const legacyMode = deps.secretsV2 === false;
  if (legacyMode) for (const ref of q.references) if (!ref.legacy) outcomes.fail(ref, secretsV2Disabled(ref));
  let answers: Answers;
  try {
    answers = await ask(deps, q, outcomes, legacyMode);
  } catch (err) {
    if (!(err instanceof LatchkeyError)) throw err;
    for (const ref of q.references) outcomes.fail(ref, permissionsUnchecked(err));
    return [];
  }
  const reads: ValueRead[] = [];
  q.references.forEach((ref, i) => {
    if (outcomes.has(ref)) return;
    const read = readFor(ref, answers.decisions[i], answers, q.domain, outcomes, legacyMode);
    if (read) reads.push(read);
  });
  return reads;
}

/**
 * The bundles, then ras's answers. When ras refuses a bundle that was
 * remembered, the catalog is asked again for those integrations (one may be
 * gone since) and ras once more: a refusal is always of the bundle the
 * catalog holds now.
 */
async function ask(deps: AuthorizationDeps, q: Question, outcomes: Outcomes, legacyMode: boolean): Promise<Answers> {
  const answersFor = async (found: BundleLookup): Promise<Answers> => ({
    bundleOf: found.bundles,
    ...(await askRas(deps.authorizer, q, [...new Set(found.bundles.values())], legacyMode)),
  });
  const first = await lookupBundles(deps.bundles, q, outcomes);
  const answers = await answersFor(first);
  const doubtful = [...first.remembered].filter(
    (id) => answers.bundleDecisions.get(first.bundles.get(id)!)?.allowed !== true,
  );
  if (doubtful.length === 0) return answers;
  deps.bundles.forget(q.domain, doubtful);
  return answersFor(await lookupBundles(deps.bundles, q, outcomes));
}

/** The bundle of each Vault integration referenced (a lookup that fails fails those references). */
async function lookupBundles(bundles: IntegrationBundles, q: Question, outcomes: Outcomes): Promise<BundleLookup> {
  const vaultIds = [
    ...new Set(q.references.filter((r) => r.sourceType === 'VAULT' && !outcomes.has(r)).map((r) => r.sourceId)),
  ];
  if (vaultIds.length === 0) return { bundles: new Map(), remembered: new Set() };
  try {
    return await bundles.lookup(q.domain, vaultIds);
  } catch (err) {
    if (!(err instanceof LatchkeyError)) throw err;
    for (const ref of q.references) if (ref.sourceType === 'VAULT') outcomes.fail(ref, bundleLookupFailed(ref, err));
    return { bundles: new Map(), remembered: new Set() };
  }
}

/**
 * One batched permission check for every reference, and for the bundle of
 * every Vault integration. `legacyMode`: placeholders are asked of global
 * scope, the only one they read then.
 */
async function askRas(
  authorizer: Authorizer,
  q: Question,
  bundles: string[],
  legacyMode: boolean,
): Promise<Pick<Answers, 'decisions' | 'bundleDecisions'>> {
  const who = {
    principal: q.principal,
    ...(q.groups && q.groups.length > 0 ? { groups: q.groups } : {}),
    domain: q.domain,
    requestId: q.requestId,
  };
  const questions: AuthorizationQuestion[] = [
    ...q.references.map((r) => ({
      ...who,
      action: 'secret.use',
      resource: r.key,
      ...((r.legacy && legacyMode) || (!r.legacy && r.sourceType === 'MANAGED' && r.sourceId === GLOBAL_SCOPE)
        ? { scope: GLOBAL_SCOPE }
        : {}),
    })),
    ...bundles.map((b) => ({ ...who, action: 'bundle.use', resource: b })),
  ];
  const all = await authorizer.checkBatch(questions);
  return {
    decisions: all.slice(0, q.references.length),
    bundleDecisions: new Map(bundles.map((b, n) => [b, all[q.references.length + n]!])),
  };
}

/** The read one permitted reference needs; undefined (and its failure recorded) when it may not be read. */
function readFor(
  ref: ReferenceSpec,
  d: Decision | undefined,
  answers: Answers,
  domain: string,
  outcomes: Outcomes,
  legacyMode: boolean,
): ValueRead | undefined {
  if (!d?.allowed) {
    outcomes.fail(ref, referenceDenied(d));
    return undefined;
  }
  if (ref.sourceType === 'VAULT') {
    const bundle = answers.bundleOf.get(ref.sourceId);
    const b = bundle === undefined ? undefined : answers.bundleDecisions.get(bundle);
    // A missing decision for the bundle refuses, as a missing one for the key does.
    if (bundle !== undefined && !b?.allowed) {
      outcomes.fail(ref, bundleDenied(ref, bundle, b));
      return undefined;
    }
    // An integration the domain does not hold: the catalog's read answers it, as for any missing one.
    // The catalog answers only if the integration belongs to the workload's domain.
    return {
      refId: ref.refId,
      key: ref.key,
      scope: domain,
      fallbackToGlobal: false,
      sourceType: 'VAULT',
      integrationId: ref.sourceId,
    };
  }
  // Legacy mode: a placeholder reads global scope only, never the domain's key of the same name.
  if (ref.legacy && legacyMode) return { refId: ref.refId, key: ref.key, scope: GLOBAL_SCOPE, fallbackToGlobal: false };
  const scope = ref.legacy ? domain : ref.sourceId;
  if (scope !== domain && scope !== GLOBAL_SCOPE) {
    outcomes.fail(ref, crossDomain(ref, scope, domain));
    return undefined;
  }
  return { refId: ref.refId, key: ref.key, scope, fallbackToGlobal: ref.legacy };
}
