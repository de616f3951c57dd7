import { readFile } from 'node:fs/promises';
import type { Pool } from '@latchkey/db';
import { LatchkeyError } from '@latchkey/errors';
import type { ServiceMetrics } from '@latchkey/metrics';
import type { CatalogConfig } from '../config.js';
import type { ValueBackend } from '../domain/value-backend.js';
import { DatabaseValueBackend } from './database-value-backend.js';
import type { KekRing } from './kek-ring.js';
import { VaultValueBackend } from './vault-value-backend.js';
import type { VaultAuth } from './vault-http-client.js';

const configError = (message: string) => new LatchkeyError('config.invalid', message, { kind: 'invalid_argument' });

async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    throw configError(`cannot read ${what} from ${path}`);
  }
}

/** Builds the one managed backend the configuration names (LATCHKEY_SECRET_STORE). */
export async function createValueBackend(
  config: CatalogConfig,
  deps: { pool: Pool; keks: KekRing; metrics?: Pick<ServiceMetrics, 'vaultRequest'> },
): Promise<ValueBackend> {
  switch (config.LATCHKEY_SECRET_STORE) {
    case 'database':
      return new DatabaseValueBackend(deps.pool, deps.keks, config.LATCHKEY_MAX_VALUE_BYTES);
    case 'kubernetes': {
      // Loaded only here: the Kubernetes client costs ~75 MiB of memory.
      const [{ KubeConfig }, { KubernetesValueBackend }] = await Promise.all([
        import('@kubernetes/client-node'),
        import('./kubernetes-value-backend.js'),
      ]);
      const kubeConfig = new KubeConfig();
      if (config.LATCHKEY_KUBECONFIG) kubeConfig.loadFromFile(config.LATCHKEY_KUBECONFIG);
      else kubeConfig.loadFromCluster();
      // It prunes on write to the count the catalog keeps (the retention sweep destroys the rest elsewhere).
      return new KubernetesValueBackend({
        kubeConfig,
        namespace: config.LATCHKEY_K8S_NAMESPACE,
        keepVersions: config.LATCHKEY_SECRET_KEEP_VERSIONS,
      });
    }
    case 'vault': {
      if (!config.LATCHKEY_VAULT_ADDR) throw configError('LATCHKEY_SECRET_STORE=vault needs LATCHKEY_VAULT_ADDR');
      let auth: VaultAuth;
      if (config.LATCHKEY_VAULT_TOKEN_FILE) {
        auth = { method: 'token', token: await readSecretFile(config.LATCHKEY_VAULT_TOKEN_FILE, 'the Vault token') };
      } else if (config.LATCHKEY_VAULT_ROLE_ID && config.LATCHKEY_VAULT_SECRET_ID_FILE) {
        auth = {
          method: 'approle',
          roleId: config.LATCHKEY_VAULT_ROLE_ID,
          secretId: await readSecretFile(config.LATCHKEY_VAULT_SECRET_ID_FILE, 'the AppRole secret id'),
        };
      } else {
        throw configError(
          'LATCHKEY_SECRET_STORE=vault needs LATCHKEY_VAULT_TOKEN_FILE, or LATCHKEY_VAULT_ROLE_ID and LATCHKEY_VAULT_SECRET_ID_FILE',
        );
      }
      return VaultValueBackend.create({
        host: config.LATCHKEY_VAULT_ADDR,
        path: config.LATCHKEY_VAULT_PATH,
        auth,
        ...(config.LATCHKEY_VAULT_NAMESPACE ? { namespace: config.LATCHKEY_VAULT_NAMESPACE } : {}),
        // The platform's own Vault, in the metrics as integration `platform`.
        observe: (op, seconds, error) =>
          deps.metrics?.vaultRequest({
            integration: 'platform',
            op,
            seconds,
            ...(error === undefined ? {} : { error }),
          }),
      });
    }
  }
}
