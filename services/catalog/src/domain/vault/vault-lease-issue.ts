/**
 * Values of references to a dynamic-secrets integration (`<mount>/creds/<role>`):
 * one lease per deployment read, whatever the number of references to it in
 * the read (each names a field: `username` or `password`). The lease is
 * recorded for its deployment before any value is answered; a lease that
 * cannot be recorded is revoked at once. Nothing here is cached: every
 * deployment gets credentials of its own.
 */
import { LatchkeyError } from '@latchkey/errors';
import type { VaultLeaseRepo } from '../ports.js';
import type { MissingAnswer } from '../secrets/secret-errors.js';
import type { ValueAnswer, ValueQuery } from '../secrets/secret-types.js';
import type { DynamicVaultSource, VaultIntegrationRecord } from './vault-integration-types.js';

export interface LeaseIssueDeps {
  leases: Pick<VaultLeaseRepo, 'record'>;
  now?: () => Date;
  logger?: { warn(msg: string, fields?: Record<string, unknown>): void };
}

const missing = (q: ValueQuery, code: string, message: string): MissingAnswer => ({
  refId: q.refId,
  found: false,
  code,
  message,
});

/** Answers `qs` (references to one dynamic integration) from one lease issued for `deploymentId`. */
export async function readLeasedValues(
  deps: LeaseIssueDeps | undefined,
  record: VaultIntegrationRecord,
  dynamic: DynamicVaultSource,
  qs: ValueQuery[],
  deploymentId: string | undefined,
): Promise<ValueAnswer[]> {
  if (deploymentId === undefined || deps === undefined) {
    return qs.map((q) =>
      missing(
        q,
        'vault.dynamic_needs_deployment',
        `reference ${q.key}: Vault integration ${record.name} (${dynamic.credsPath}) issues credentials for a ` +
          'deployment only, each under a lease of its own; a dry run, a connection test or a runtime read cannot read them',
      ),
    );
  }
  const creds = await dynamic.issue();
  try {
    const issuedAt = (deps.now ?? (() => new Date()))();
    try {
      await deps.leases.record({
        leaseId: creds.leaseId,
        integrationId: record.id,
        domain: record.domain,
        deploymentId,
        issuedAt,
        expiresAt: new Date(issuedAt.getTime() + creds.leaseSeconds * 1000),
        leaseSeconds: creds.leaseSeconds,
        renewable: creds.renewable,
      });
    } catch (err) {
      // Unrecorded, nothing would ever revoke it: revoked now (else its TTL ends it).
      await dynamic.revoke(creds.leaseId).catch((revokeErr: unknown) =>
        deps.logger?.warn('a Vault lease that could not be recorded could not be revoked either: its TTL ends it', {
          integration: record.id,
          deployment: deploymentId,
          code: revokeErr instanceof LatchkeyError ? revokeErr.code : 'vault.error',
        }),
      );
      throw err;
    }
    const fields = [...creds.fields.keys()].sort();
    return qs.map((q): ValueAnswer => {
      const value = creds.fields.get(q.key);
      if (value === undefined) {
        return missing(
          q,
          'vault.not_found',
          `reference ${q.key}: Vault integration ${record.name} (${dynamic.credsPath}) has the fields ${fields.join(', ')}`,
        );
      }
      // Version 0: dynamic credentials have no versions (each deployment gets new ones).
      return { refId: q.refId, found: true, scope: record.id, version: 0, value: Buffer.from(value) };
    });
  } finally {
    for (const v of creds.fields.values()) v.fill(0);
  }
}
