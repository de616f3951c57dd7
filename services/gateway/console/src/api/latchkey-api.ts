// The gateway's routes the console uses, one function each.
import { ApiError, call, seg, setCsrfToken } from './http.js';
import type {
  AuditEntry,
  Bundle,
  DeletedSecret,
  DeleteSecretResult,
  Deployment,
  DeploymentPlan,
  Domain,
  InventoryEntry,
  Logs,
  SecretMetadata,
  SecretVersion,
  SecretVersions,
  Selector,
  Session,
  StorageTestResult,
  VaultIntegration,
  VaultSettingsInput,
  VaultTestResult,
  Workload,
} from './types.js';

/** A list the gateway may answer bare or wrapped in `{ <field>: [...] }`. */
function listOf<T>(answer: unknown, field: string): T[] {
  if (Array.isArray(answer)) return answer as T[];
  if (answer !== null && typeof answer === 'object') {
    const inner = (answer as Record<string, unknown>)[field];
    if (Array.isArray(inner)) return inner as T[];
  }
  return [];
}

/** One scope's routes: a domain's, or global (`domain` undefined). */
const scopePath = (domain: string | undefined): string =>
  domain === undefined ? '/api/v1/global' : `/api/v1/domains/${seg(domain)}`;
/** Where one scope's secrets live. */
const secretsPath = (domain: string | undefined): string => `${scopePath(domain)}/secrets`;
/** One secret's path. */
const secretPath = (domain: string | undefined, key: string): string => `${secretsPath(domain)}/${seg(key)}`;

/** Each seed kind's collection, as the seed's API migration guide names it. */
export const KIND_PATHS: Record<string, (domain: string) => string> = {
  COMPUTE: (d) => `/api/v2/domains/${seg(d)}/compute`,
  SPARK_JOB: (d) => `/api/v2/domains/${seg(d)}/spark/jobs`,
  SPARK_STREAMING_JOB: (d) => `/api/v2/domains/${seg(d)}/spark/streaming/jobs`,
  SDK_SPARK_JOB: (d) => `/api/v2/domains/${seg(d)}/sdk/spark/jobs`,
  JUPYTER_CONTAINER: (d) => `/api/v1/domains/${seg(d)}/jupyter-containers`,
  STORAGE_CONFIG: (d) => `/api/v1/domains/${seg(d)}/storage-configs`,
};

function kindPath(kind: string, domain: string): string {
  const p = KIND_PATHS[kind];
  if (p === undefined) throw new Error(`unknown workload kind ${kind}`);
  return p(domain);
}

const workloadPath = (domain: string, name: string): string => `/api/v1/domains/${seg(domain)}/workloads/${seg(name)}`;

export const api = {
  /**
   * The signed-in caller (whoami) and, with a console session, its CSRF token
   * (kept for writes). A caller with a bearer token and no session has none.
   */
  async session(): Promise<Session> {
    try {
      const s = await call<{ csrfToken?: string }>('GET', '/api/v1/session');
      setCsrfToken(s.csrfToken);
    } catch (e) {
      // No session (or a gateway that keeps none: a proxy in front may send the bearer token): whoami decides.
      const noSession =
        e instanceof ApiError && (e.status === 401 || e.status === 404 || e.code === 'session.not_configured');
      if (!noSession) throw e;
    }
    const who = await call<Partial<Session>>('GET', '/api/v1/whoami');
    return { principal: who.principal ?? '', groups: who.groups ?? [], platformAdmin: who.platformAdmin ?? false };
  },
  logout: () => call<void>('POST', '/api/v1/session/logout', {}),

  domains: async (): Promise<Domain[]> => listOf<Domain>(await call('GET', '/api/v1/domains'), 'domains'),
  bundles: async (domain: string): Promise<Bundle[]> =>
    listOf<Bundle>(await call('GET', `/api/v1/domains/${seg(domain)}/bundles`), 'bundles'),

  secrets: async (domain: string | undefined): Promise<SecretMetadata[]> =>
    listOf<SecretMetadata>(await call('GET', secretsPath(domain)), 'secrets'),
  putSecret: (domain: string | undefined, key: string, value: string, description?: string) =>
    call<SecretMetadata>('PUT', secretPath(domain, key), {
      value,
      ...(description ? { description } : {}),
    }),
  /** `recoveryDays` undefined: the installation's default window. */
  deleteSecret: (domain: string | undefined, key: string, force: boolean, recoveryDays?: number) => {
    const query = new URLSearchParams();
    if (force) query.set('force', 'true');
    if (recoveryDays !== undefined) query.set('recoveryDays', String(recoveryDays));
    const q = query.toString();
    return call<DeleteSecretResult>('DELETE', `${secretPath(domain, key)}${q === '' ? '' : `?${q}`}`);
  },
  deletedSecrets: async (domain: string | undefined): Promise<DeletedSecret[]> =>
    listOf<DeletedSecret>(await call('GET', `${scopePath(domain)}/deleted-secrets`), 'secrets'),
  restoreSecret: (domain: string | undefined, key: string) =>
    call<SecretMetadata>('POST', `${secretPath(domain, key)}/restore`, {}),
  secretVersions: (domain: string | undefined, key: string) =>
    call<SecretVersions>('GET', `${secretPath(domain, key)}/versions`),
  /** A new version with `toVersion`'s value, copied inside the catalog. */
  rollbackSecret: (domain: string | undefined, key: string, toVersion: number) =>
    call<SecretMetadata>('POST', `${secretPath(domain, key)}/rollback`, { toVersion }),
  setVersionState: (domain: string | undefined, key: string, version: number, disabled: boolean) =>
    call<SecretVersion>(
      'POST',
      `${secretPath(domain, key)}/versions/${version}/${disabled ? 'disable' : 'enable'}`,
      {},
    ),
  setRotationPolicy: (domain: string | undefined, key: string, rotateEvery: string) =>
    call<SecretMetadata>('PUT', `${secretPath(domain, key)}/rotation-policy`, { rotateEvery }),

  selector: (domain: string) => call<Selector>('GET', `/api/v1/domains/${seg(domain)}/selector`),
  /** The domain's inventory; with `usedBy`, only that key, with the workloads that use it. */
  inventory: async (domain: string, usedBy?: string): Promise<InventoryEntry[]> =>
    listOf<InventoryEntry>(
      await call(
        'GET',
        `/api/v1/domains/${seg(domain)}/inventory${usedBy !== undefined ? `?usedBy=${encodeURIComponent(usedBy)}` : ''}`,
      ),
      'entries',
    ),
  audit: async (domain: string, limit = 100): Promise<AuditEntry[]> =>
    listOf<AuditEntry>(
      await call('GET', `/api/v1/audit?domain=${encodeURIComponent(domain)}&limit=${limit}`),
      'records',
    ),

  vaults: async (domain: string): Promise<VaultIntegration[]> =>
    listOf<VaultIntegration>(await call('GET', `/api/v1/domains/${seg(domain)}/vault-integrations`), 'integrations'),
  createVault: (domain: string, name: string, bundle: string, settings: VaultSettingsInput) =>
    call<VaultIntegration>('POST', `/api/v1/domains/${seg(domain)}/vault-integrations`, {
      name,
      bundle,
      ...settings,
    }),
  updateVault: (domain: string, id: string, changes: Partial<VaultSettingsInput> & { name?: string }) =>
    call<VaultIntegration>('PUT', `/api/v1/domains/${seg(domain)}/vault-integrations/${seg(id)}`, changes),
  deleteVault: (domain: string, id: string, force: boolean) =>
    call<unknown>(
      'DELETE',
      `/api/v1/domains/${seg(domain)}/vault-integrations/${seg(id)}${force ? '?force=true' : ''}`,
    ),
  testVault: (domain: string, settings: VaultSettingsInput) =>
    call<VaultTestResult>('POST', `/api/v1/domains/${seg(domain)}/vault-integrations/test`, settings),
  testSavedVault: (domain: string, id: string) =>
    call<VaultTestResult>('POST', `/api/v1/domains/${seg(domain)}/vault-integrations/${seg(id)}/test`, {}),

  workloads: async (domain: string): Promise<Workload[]> =>
    listOf<Workload>(await call('GET', `/api/v1/domains/${seg(domain)}/workloads`), 'workloads'),
  workload: (kind: string, domain: string, name: string) =>
    call<Workload & Record<string, unknown>>('GET', `${kindPath(kind, domain)}/${seg(name)}`),
  /** Creates (`create`) or replaces a workload through its kind's seed endpoint. */
  saveWorkload: (kind: string, domain: string, payload: Record<string, unknown>, create: boolean) =>
    create
      ? call<Workload>('POST', kindPath(kind, domain), payload)
      : call<Workload>('PUT', `${kindPath(kind, domain)}/${seg(String(payload['name']))}`, payload),
  deleteWorkload: (kind: string, domain: string, name: string) =>
    call<unknown>('DELETE', `${kindPath(kind, domain)}/${seg(name)}`),
  deploy: (domain: string, name: string) => call<Deployment>('POST', `${workloadPath(domain, name)}/deploy`, {}),
  dryRun: (domain: string, name: string) => call<DeploymentPlan>('POST', `${workloadPath(domain, name)}/dry-run`, {}),
  /** A STORAGE_CONFIG's connection test (starts nothing). */
  testStorage: (domain: string, name: string) =>
    call<StorageTestResult>('POST', `${workloadPath(domain, name)}/test`, {}),
  redeploy: (domain: string, name: string) => call<unknown>('POST', `${workloadPath(domain, name)}/redeploy`, {}),
  stop: (domain: string, name: string) => call<unknown>('POST', `${workloadPath(domain, name)}/stop`, {}),
  logs: (domain: string, name: string) => call<Logs>('GET', `${workloadPath(domain, name)}/logs`),
  deployment: (domain: string, id: string) =>
    call<Deployment>('GET', `/api/v1/domains/${seg(domain)}/deployments/${seg(id)}`),
};
