import { LatchkeyError } from '@latchkey/errors';
import { INTEGRATION_ID } from '@latchkey/events';
import type { VaultIntegrationRepo, VaultSources } from '../ports.js';
import type { MissingAnswer } from '../secrets/secret-errors.js';
import type { KeyAnswer, ValueAnswer, ValueQuery } from '../secrets/secret-types.js';
import {
  integrationFailedAnswer,
  integrationNotFoundAnswer,
  vaultKeyNotFoundAnswer,
} from './vault-integration-errors.js';
import type { VaultIntegrationRecord, VaultSource } from './vault-integration-types.js';
import { readLeasedValues, type LeaseIssueDeps } from './vault-lease-issue.js';

type VaultDeps = {
  repo: Pick<VaultIntegrationRepo, 'byIds'>;
  sources: VaultSources;
  /** Where leases of dynamic credentials are recorded; without it they cannot be read. */
  leases?: LeaseIssueDeps;
};

/**
 * Answers VAULT queries integration by integration: `ask` answers one
 * integration's queries over its connection. A query naming an integration
 * that does not exist or belongs to another domain is answered "not found" at
 * once; an integration whose connection or `ask` fails answers each of its
 * queries with that error's code (`listed`: the failure says "listed", else "read").
 */
async function perIntegration<A>(
  deps: VaultDeps,
  queries: ValueQuery[],
  listed: boolean,
  ask: (source: VaultSource, record: VaultIntegrationRecord, qs: ValueQuery[]) => Promise<A[]>,
): Promise<(A | MissingAnswer)[]> {
  const ids = [...new Set(queries.map((q) => q.integrationId ?? ''))];
  const records = new Map((await deps.repo.byIds(ids.filter((id) => INTEGRATION_ID.test(id)))).map((r) => [r.id, r]));
  const groups = new Map<string, ValueQuery[]>();
  const answers: (A | MissingAnswer)[] = [];
  for (const q of queries) {
    const id = q.integrationId ?? '';
    const record = records.get(id);
    if (!record || record.domain !== q.scope) {
      answers.push(integrationNotFoundAnswer(q.refId, q.key, id, q.scope));
      continue;
    }
    groups.set(id, [...(groups.get(id) ?? []), q]);
  }
  await Promise.all(
    [...groups].map(async ([id, qs]) => {
      const record = records.get(id)!;
      let answered: A[];
      try {
        answered = await ask(await deps.sources.forIntegration(record), record, qs);
      } catch (err) {
        const code = err instanceof LatchkeyError ? err.code : 'vault.error';
        for (const q of qs) answers.push(integrationFailedAnswer(q.refId, q.key, record.name, code, listed));
        return;
      }
      answers.push(...answered);
    }),
  );
  return answers;
}

/**
 * Whether VAULT references' keys exist, from one key listing per
 * integration (no value leaves the catalog; the version is not known from a
 * listing and is 0). An integration that cannot be listed answers its error.
 */
export function findVaultKeys(deps: VaultDeps, queries: ValueQuery[]): Promise<KeyAnswer[]> {
  return perIntegration(deps, queries, true, async (source, record, qs) => {
    const keys = new Set(await source.listKeys());
    return qs.map((q): KeyAnswer =>
      keys.has(q.key)
        ? { refId: q.refId, found: true, scope: record.id, version: 0 }
        : vaultKeyNotFoundAnswer(q.refId, q.key, record.name),
    );
  });
}

/**
 * Values of VAULT references: grouped per integration, one read per distinct
 * key (one in all for the fields layout). An integration answers only for
 * its own domain: a reference from another domain gets the same "not found"
 * as a missing integration. Failures are per reference, never a value. A
 * dynamic-secrets integration issues one lease for `deploymentId` (and
 * cannot be read without one).
 */
export function readVaultValues(deps: VaultDeps, queries: ValueQuery[], deploymentId?: string): Promise<ValueAnswer[]> {
  return perIntegration(deps, queries, false, async (source, record, qs) => {
    if (source.dynamic) return readLeasedValues(deps.leases, record, source.dynamic, qs, deploymentId);
    const results = await source.read(qs.map((q) => q.key));
    return qs.map((q): ValueAnswer => {
      const r = results.get(q.key);
      if (r && 'value' in r)
        return { refId: q.refId, found: true, scope: record.id, version: r.version, value: r.value };
      return {
        refId: q.refId,
        found: false,
        code: r?.error.code ?? 'vault.error',
        message: r?.error.message ?? `reference ${q.key}: no answer from Vault integration ${record.name}`,
      };
    });
  });
}
