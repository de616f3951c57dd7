// The gateway's routes the console uses, one function each.
import { ApiError, call, seg, setCsrfToken } from './http.js';
import type {
  AuditEntry,
  Bundle,
  DeleteSecretResult,
  Deployment,
  DeploymentPlan,
  Domain,
  InventoryEntry,
  Logs,
  SecretMetadata,
  Selector,
  Session,
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

/** Where one scope's secrets live: a domain's, or global (`domain` undefined). */
const secretsPath = (domain: string | undefined): string =>
  domain === undefined ? '/api/v1/global/secrets' : `/api/v1/domains/${seg(domain)}/secrets`;

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
      if (!(e instanceof ApiError) || (e.status !== 401 && e.status !== 404)) throw e;
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
    call<SecretMetadata>('PUT', `${secretsPath(domain)}/${seg(key)}`, {
      value,
      ...(description ? { description } : {}),
    }),
  deleteSecret: (domain: string | undefined, key: string, force: boolean) =>
    call<DeleteSecretResult>('DELETE', `${secretsPath(domain)}/${seg(key)}${force ? '?force=true' : ''}`),
  setRotationPolicy: (domain: string | undefined, key: string, rotateEvery: string) =>
    call<SecretMetadata>('PUT', `${secretsPath(domain)}/${seg(key)}/rotation-policy`, { rotateEvery }),

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
  redeploy: (domain: string, name: string) => call<unknown>('POST', `${workloadPath(domain, name)}/redeploy`, {}),
  stop: (domain: string, name: string) => call<unknown>('POST', `${workloadPath(domain, name)}/stop`, {}),
  logs: (domain: string, name: string) => call<Logs>('GET', `${workloadPath(domain, name)}/logs`),
  deployment: (domain: string, id: string) =>
    call<Deployment>('GET', `/api/v1/domains/${seg(domain)}/deployments/${seg(id)}`),
};
