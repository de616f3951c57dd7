import type { Deployment, SecretMetadata, Workload } from '@latchkey/proto';

/** Typed records for the CLI's fake services to answer with. */

/** A managed secret's metadata in domain analytics. */
export function fakeSecret(key: string, version: number, extra: Partial<SecretMetadata> = {}): SecretMetadata {
  return {
    scope: { domain: 'analytics', global: false },
    key,
    source: 'MANAGED',
    version,
    createdAt: '',
    updatedAt: '2025-01-03T00:00:00Z',
    updatedBy: 'alice',
    description: '',
    rotateEvery: '',
    deletedAt: '',
    recoverUntil: '',
    ...extra,
  };
}

/** A deployment of a workload in domain analytics; every field not given is empty. */
export function fakeDeployment(extra: Partial<Deployment> & Pick<Deployment, 'id' | 'status'>): Deployment {
  return {
    domain: 'analytics',
    workload: '',
    reasons: [],
    versions: [],
    principal: '',
    createdAt: '',
    updatedAt: '',
    pid: 0,
    exitCode: 0,
    warnings: [],
    attempts: 0,
    trigger: '',
    runner: '',
    stopRequestedAt: '',
    stopRequestedBy: '',
    ...extra,
  };
}

/** A COMPUTE workload in domain analytics, applied by mia, never deployed. */
export function fakeWorkload(name: string, extra: Partial<Workload> = {}): Workload {
  return {
    id: `w-${name}`,
    domain: 'analytics',
    name,
    kind: 'COMPUTE',
    specJson: JSON.stringify({ name, kind: 'COMPUTE' }),
    stale: false,
    staleReasons: [],
    lastDeployment: undefined,
    createdAt: '',
    updatedAt: '2025-03-03T12:00:00.000Z',
    warnings: [],
    liveDeployment: undefined,
    staleSince: '',
    redeployPolicy: { mode: 'manual', window: '', maxConcurrent: 1 },
    appliedBy: 'mia',
    plaintextCredentials: [],
    ...extra,
  };
}

/** A deployment of workload etl by mia (started by deploy, on runner deployer-2). */
export const etlDeployment = (id: string, status: string, extra: Partial<Deployment> = {}): Deployment =>
  fakeDeployment({
    id,
    status,
    workload: 'etl',
    principal: 'mia',
    createdAt: '2025-03-03T12:00:00.000Z',
    trigger: 'deploy',
    runner: 'deployer-2',
    ...extra,
  });

/** A running deployment of etl that admin asked to stop. */
export const ETL_STOPPING = etlDeployment('s-1', 'deployed', {
  stopRequestedAt: '2025-03-03T12:05:00.000Z',
  stopRequestedBy: 'admin',
});

/** The secret versions a deployment of etl holds. */
export const ETL_HELD = [
  { refId: 'MANAGED:analytics:db_password', key: 'db_password', sourceType: 'MANAGED', scope: 'analytics', version: 4 },
  { refId: 'LEGACY:api_token', key: 'api_token', sourceType: 'MANAGED', scope: 'global', version: 2 },
  { refId: 'VAULT:0f5c6a2e:team', key: 'team', sourceType: 'VAULT', scope: '0f5c6a2e', version: 7 },
];
