import { LatchkeyError } from '@latchkey/errors';
import type { VaultIntegrationRepo, VaultSources } from './ports.js';
import type { ValueAnswer, ValueQuery } from './secret-types.js';
import { INTEGRATION_ID } from './vault-integration-types.js';

/**
 * Values of VAULT references: grouped per integration, one read per distinct
 * key (one in all for the fields layout). An integration answers only for
 * its own domain: a reference from another domain gets the same "not found"
 * as a missing integration. Failures are per reference, never a value.
 */
export async function readVaultValues(
  deps: { repo: Pick<VaultIntegrationRepo, 'byIds'>; sources: VaultSources },
  queries: ValueQuery[],
): Promise<ValueAnswer[]> {
  const ids = [...new Set(queries.map((q) => q.integrationId ?? ''))];
  const records = new Map((await deps.repo.byIds(ids.filter((id) => INTEGRATION_ID.test(id)))).map((r) => [r.id, r]));
  const byIntegration = new Map<string, ValueQuery[]>();
  const answers: ValueAnswer[] = [];
  for (const q of queries) {
    const id = q.integrationId ?? '';
    const record = records.get(id);
    if (!record || record.domain !== q.scope) {
      answers.push({
        refId: q.refId,
        found: false,
        code: 'vault.integration_not_found',
        message: `reference ${q.key}: no Vault integration ${JSON.stringify(id.slice(0, 80))} in domain ${q.scope}`,
      });
      continue;
    }
    byIntegration.set(id, [...(byIntegration.get(id) ?? []), q]);
  }
  await Promise.all(
    [...byIntegration].map(async ([id, qs]) => {
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
