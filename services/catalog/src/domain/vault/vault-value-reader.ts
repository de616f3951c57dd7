import { LatchkeyError } from '@latchkey/errors';
import type { VaultIntegrationRepo, VaultSources } from '../ports.js';
import type { KeyAnswer, ValueAnswer, ValueQuery } from '../secrets/secret-types.js';
import { INTEGRATION_ID } from './vault-integration-types.js';

type VaultDeps = { repo: Pick<VaultIntegrationRepo, 'byIds'>; sources: VaultSources };

/**
 * Groups VAULT queries by integration; a query naming an integration that
 * does not exist or belongs to another domain is answered "not found" at once.
 */
async function byIntegration(deps: VaultDeps, queries: ValueQuery[]) {
  const ids = [...new Set(queries.map((q) => q.integrationId ?? ''))];
  const records = new Map((await deps.repo.byIds(ids.filter((id) => INTEGRATION_ID.test(id)))).map((r) => [r.id, r]));
  const groups = new Map<string, ValueQuery[]>();
  const unknown: { refId: string; found: false; code: string; message: string }[] = [];
  for (const q of queries) {
    const id = q.integrationId ?? '';
    const record = records.get(id);
    if (!record || record.domain !== q.scope) {
      unknown.push({
        refId: q.refId,
        found: false,
        code: 'vault.integration_not_found',
        message: `reference ${q.key}: no Vault integration ${JSON.stringify(id.slice(0, 80))} in domain ${q.scope}`,
      });
      continue;
    }
    groups.set(id, [...(groups.get(id) ?? []), q]);
  }
  return { records, groups, unknown };
}

/**
 * Whether VAULT references' keys exist, from one key listing per
 * integration (no value leaves the catalog; the version is not known from a
 * listing and is 0). An integration that cannot be listed answers its error.
 */
export async function findVaultKeys(deps: VaultDeps, queries: ValueQuery[]): Promise<KeyAnswer[]> {
  const { records, groups, unknown } = await byIntegration(deps, queries);
  const answers: KeyAnswer[] = [...unknown];
  await Promise.all(
    [...groups].map(async ([id, qs]) => {
      const record = records.get(id)!;
      let keys: Set<string>;
      try {
        keys = new Set(await (await deps.sources.forIntegration(record)).listKeys());
      } catch (err) {
        const code = err instanceof LatchkeyError ? err.code : 'vault.error';
        for (const q of qs) {
          answers.push({
            refId: q.refId,
            found: false,
            code,
            message: `reference ${q.key}: Vault integration ${record.name} could not be listed (${code})`,
          });
        }
        return;
      }
      for (const q of qs) {
        answers.push(
          keys.has(q.key)
            ? { refId: q.refId, found: true, scope: id, version: 0 }
            : {
                refId: q.refId,
                found: false,
                code: 'vault.not_found',
                message: `reference ${q.key}: Vault integration ${record.name} has no key ${q.key}`,
              },
        );
      }
    }),
  );
  return answers;
}

/**
 * Values of VAULT references: grouped per integration, one read per distinct
 * key (one in all for the fields layout). An integration answers only for
 * its own domain: a reference from another domain gets the same "not found"
 * as a missing integration. Failures are per reference, never a value.
 */
export async function readVaultValues(deps: VaultDeps, queries: ValueQuery[]): Promise<ValueAnswer[]> {
  const { records, groups, unknown } = await byIntegration(deps, queries);
  const answers: ValueAnswer[] = [...unknown];
  await Promise.all(
    [...groups].map(async ([id, qs]) => {
      const record = records.get(id)!;
      let results;
      try {
        const source = await deps.sources.forIntegration(record);
        results = await source.read(qs.map((q) => q.key));
      } catch (err) {
        const code = err instanceof LatchkeyError ? err.code : 'vault.error';
        for (const q of qs) {
          answers.push({
            refId: q.refId,
            found: false,
            code,
            message: `reference ${q.key}: Vault integration ${record.name} could not be read (${code})`,
          });
        }
        return;
      }
      for (const q of qs) {
        const r = results.get(q.key);
        if (r && 'value' in r)
          answers.push({ refId: q.refId, found: true, scope: id, version: r.version, value: r.value });
        else {
          answers.push({
            refId: q.refId,
            found: false,
            code: r?.error.code ?? 'vault.error',
            message: r?.error.message ?? `reference ${q.key}: no answer from Vault integration ${record.name}`,
          });
        }
      }
    }),
  );
  return answers;
}
