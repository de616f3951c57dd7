import { LatchkeyError } from '@latchkey/errors';
import type { VaultTestOutcome } from '../domain/vault/vault-integration-types.js';
import type { VaultReadOnlyClient } from './vault-http-client.js';

// How a Vault integration's client failures are shown: as a connection test's
// outcome (both kinds of integration) and, for reads, as a LatchkeyError.

/** What `vault test` reports for each refusal of the client. */
const TEST_OUTCOME: Record<string, Exclude<VaultTestOutcome['outcome'], 'ok'>> = {
  'vault.unreachable': 'unreachable',
  'vault.tls_failure': 'tls_failure',
  'vault.auth_failed': 'bad_credentials',
  'vault.permission_denied': 'no_permission',
  'vault.not_kv2': 'not_kv2',
  'vault.sealed': 'sealed',
};

export function asLatchkeyError(err: unknown): LatchkeyError {
  // The client only throws LatchkeyErrors; anything else is not ours to show.
  return err instanceof LatchkeyError
    ? err
    : new LatchkeyError('vault.error', 'unexpected failure reading a Vault integration', { kind: 'internal' });
}

/**
 * A connection test of an integration, never throwing: logs in (AppRole) or
 * looks up the token, then runs `check` (what the integration's kind reads);
 * a refusal on the way becomes its outcome.
 */
export async function testVaultConnection(
  client: Pick<VaultReadOnlyClient, 'lookupSelf'>,
  check: () => Promise<VaultTestOutcome>,
): Promise<VaultTestOutcome> {
  try {
    try {
      await client.lookupSelf();
    } catch (err) {
      // A valid token without the default policy may not look itself up: go on to the check.
      if (!(err instanceof LatchkeyError && err.code === 'vault.permission_denied')) throw err;
    }
    return await check();
  } catch (err) {
    const error = asLatchkeyError(err);
    return { outcome: TEST_OUTCOME[error.code] ?? 'unreachable', message: error.message };
  }
}
