import { auditFailClosed, loadConfig, required, z } from '@latchkey/config';
import { serviceConfig } from '@latchkey/service';

const schema = z.object({
  ...serviceConfig(7402),
  LATCHKEY_DATABASE_URL: required("LATCHKEY_DATABASE_URL, the catalog's PostgreSQL connection string"),
  LATCHKEY_RAS_ADDR: required('LATCHKEY_RAS_ADDR, host:port of ras'),
  LATCHKEY_KEK_FILE: required('LATCHKEY_KEK_FILE, the key-encryption key file'),
  LATCHKEY_DEPLOYER_ADDR: required('LATCHKEY_DEPLOYER_ADDR, host:port of the deployer (its reference index)'),
  // Read-only Vault integrations: how often deployed keys' versions are checked, and request timeouts.
  LATCHKEY_VAULT_WATCH_INTERVAL_S: z.coerce.number().positive().max(2_147_483).default(60),
  // Vault dynamic credentials: how often the lease keeper renews live deployments' leases and revokes ended ones'.
  LATCHKEY_VAULT_LEASE_INTERVAL_S: z.coerce.number().positive().max(2_147_483).default(15),
  LATCHKEY_VAULT_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  // Hosts integrations may point at although loopback, link-local or the platform's own
  // (comma-separated host names, addresses or CIDRs, e.g. 127.0.0.1); none by default.
  LATCHKEY_VAULT_ALLOWED_HOSTS: z.string().default(''),
  LATCHKEY_SELECTOR_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  // Rotation policies: how often the sweep looks for secrets due for rotation (also once at start).
  // Intervals are at most 24 days (a timer's limit; PeriodicTask also caps its delays there).
  LATCHKEY_ROTATION_SWEEP_INTERVAL_S: z.coerce.number().positive().max(2_147_483).default(86_400),
  // Versions kept per managed secret (older ones are destroyed in the backend), the recovery
  // window of a delete that names none (`--recovery-days`), and how often the retention sweep
  // destroys what is past them.
  LATCHKEY_SECRET_KEEP_VERSIONS: z.coerce.number().int().min(1).max(100).default(10),
  LATCHKEY_SECRET_RECOVERY_DAYS: z.coerce.number().int().min(0).max(30).default(7),
  LATCHKEY_RETENTION_SWEEP_INTERVAL_S: z.coerce.number().positive().max(2_147_483).default(3600),
  // The database backend's largest value (the kubernetes backend's follows from its Secrets, Vault answers itself).
  LATCHKEY_MAX_VALUE_BYTES: z.coerce.number().int().positive().default(65536),
  LATCHKEY_REPLICA_ID: z.string().default('catalog'),
  /**
   * audit.failClosed: 1 refuses an internal value read (the resolver's
   * ReadValues) whose audit record cannot be written; 0 (the default) serves
   * it and logs the failure.
   */
  LATCHKEY_AUDIT_FAIL_CLOSED: auditFailClosed(),
  // The managed backend, one for every domain: database | kubernetes | vault.
  LATCHKEY_SECRET_STORE: z.enum(['database', 'kubernetes', 'vault']).default('database'),
  // kubernetes: the namespace of the store's Secrets; a kubeconfig file, else in-cluster config.
  LATCHKEY_K8S_NAMESPACE: z.string().default('latchkey'),
  LATCHKEY_KUBECONFIG: z.string().optional(),
  // vault (read-write): address, KV v2 data path, optional namespace, token or AppRole.
  LATCHKEY_VAULT_ADDR: z.string().optional(),
  LATCHKEY_VAULT_PATH: z.string().default('/v1/secret/data/latchkey'),
  LATCHKEY_VAULT_NAMESPACE: z.string().optional(),
  LATCHKEY_VAULT_TOKEN_FILE: z.string().optional(),
  LATCHKEY_VAULT_ROLE_ID: z.string().optional(),
  LATCHKEY_VAULT_SECRET_ID_FILE: z.string().optional(),
});

export type CatalogConfig = z.infer<typeof schema>;
export const loadCatalogConfig = (env?: Record<string, string | undefined>): CatalogConfig => loadConfig(schema, env);
