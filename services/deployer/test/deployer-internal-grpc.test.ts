import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { createPool, migrate, type Pool } from '@latchkey/db';
import { ensureEventTables } from '@latchkey/events';
import { createClient, createServer, unary, type LatchkeyServer } from '@latchkey/grpc';
import { silentLogger } from '@latchkey/logger';
import { DeployerInternalClient, type DeployerInternalServer, DeployerInternalService } from '@latchkey/proto';
import { acquireTestPostgres, createTestDatabase, rejectsWith, type TestPostgres } from '@latchkey/testing';
import { PostgresReferenceIndex } from '../src/adapters/postgres-reference-index.js';
import { PostgresWorkloadRepo } from '../src/adapters/postgres-workload-repo.js';
import { PostgresWorkloadTokens } from '../src/adapters/postgres-workload-tokens.js';
import { ReferenceIndexService } from '../src/domain/reference-index-service.js';
import { RuntimeReadService } from '../src/domain/runtime/runtime-read-service.js';
import { parseWorkloadSpec, referencesOf } from '../src/domain/workload-spec.js';
import { deployerInternalCallers, deployerInternalHandlers } from '../src/transport/grpc/deployer-internal-handler.js';
import { internalCallerPrincipals } from './deployer-test-support.js';

const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url));
const INTEGRATION = '0f5c6a2e-3d41-4b7a-9e08-6c2d1b4a7f35';

/** Tokens and who they are; one user pretends to carry the catalog's service id. */
const PRINCIPALS = internalCallerPrincipals('service:catalog');

let postgres: TestPostgres;
let pool: Pool;
let server: LatchkeyServer;
let address: string;
let repo: PostgresWorkloadRepo;
let ledger: Awaited<ReturnType<PostgresWorkloadRepo['upsertWorkload']>>;
let firstDeployment: string;
const clients: DeployerInternalClient[] = [];

before(async () => {
  postgres = await acquireTestPostgres();
  pool = createPool(await createTestDatabase(postgres, `deployer_internal_${process.pid}`));
  await ensureEventTables(pool);
  await migrate(pool, MIGRATIONS);

  repo = new PostgresWorkloadRepo(pool);
  const apply = async (domain: string, spec: object) => {
    const parsed = parseWorkloadSpec(JSON.stringify(spec), domain);
    return repo.upsertWorkload(domain, parsed, referencesOf(parsed, domain));
  };
  await apply('analytics', {
    name: 'etl',
    kind: 'SPARK_JOB',
    template: {
      envVars: { A: { key: 'db_password', source: { type: 'VAULT', id: INTEGRATION } }, B: '${secrets.api_token}' },
    },
  });
  const w = await apply('finance', {
    name: 'ledger',
    kind: 'COMPUTE',
    envVars: { A: { key: 'db_password', source: { type: 'VAULT', id: INTEGRATION } } },
  });
  ledger = w;
  const d = await repo.createDeployment(w, 'admin', []);
  firstDeployment = d.id;
  const claimed = await repo.claimForStart(`resolved:${d.id}`, d.id, 'runner', [
    {
      refId: `VAULT:${INTEGRATION}:db_password`,
      key: 'db_password',
      sourceType: 'VAULT',
      scope: INTEGRATION,
      version: 4,
    },
  ]);
  assert.ok(claimed);
  await repo.markDeployed(claimed.deployment, 1);

  server = createServer({ service: 'deployer', logger: silentLogger, authenticate: (token) => PRINCIPALS[token] });
  server.addService<DeployerInternalServer>(
    DeployerInternalService,
    deployerInternalHandlers(
      new ReferenceIndexService({ index: new PostgresReferenceIndex(pool) }),
      // Runtime reads are tested in workload-token.test.ts; here only who may call the index.
      new RuntimeReadService({
        tokens: new PostgresWorkloadTokens(pool),
        reader: { read: () => Promise.reject(new Error('no resolver in this test')) },
        sealKeys: new Map(),
        repo,
        logger: silentLogger,
      }),
    ),
    deployerInternalCallers,
  );
  address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
});

after(async () => {
  for (const c of clients) c.close();
  await server?.shutdown();
  await pool?.end();
  await postgres?.stop();
});

function client(token: string): DeployerInternalClient {
  const c = createClient(DeployerInternalClient, address, token);
  clients.push(c);
  return c;
}

const listDependents = (token: string, sourceType: string, sourceId: string, keys: string[] = []) => {
  const c = client(token);
  return unary(c.listDependents.bind(c), { sourceType, sourceId, keys });
};

const listDeployedVaultKeys = (token: string) => {
  const c = client(token);
  return unary(c.listDeployedVaultKeys.bind(c), {});
};

test('the catalog lists the dependents of a key and the Vault keys of live deployments', async () => {
  assert.deepEqual(await listDependents('catalog-token', 'VAULT', INTEGRATION, ['db_password', 'unused']), {
    keys: [
      { key: 'db_password', workloads: ['analytics/etl', 'finance/ledger'] },
      { key: 'unused', workloads: [] },
    ],
  });
  assert.deepEqual(await listDependents('catalog-token', 'KUBERNETES', 'global'), {
    keys: [{ key: 'api_token', workloads: ['analytics/etl'] }],
  });
  assert.deepEqual(await listDeployedVaultKeys('catalog-token'), {
    keys: [{ integrationId: INTEGRATION, key: 'db_password', version: 4 }],
  });
});

test('callers other than the catalog service are refused with permission_denied', async () => {
  for (const token of ['resolver-token', 'gateway-token', 'gateway-serving-token', 'admin-token', 'spoof-token']) {
    await rejectsWith(
      listDependents(token, 'VAULT', INTEGRATION, ['db_password']),
      'permission_denied',
      'auth.forbidden_caller',
    );
    await rejectsWith(listDeployedVaultKeys(token), 'permission_denied', 'auth.forbidden_caller');
  }
  await rejectsWith(listDeployedVaultKeys('unknown-token'), 'unauthenticated', 'auth.unauthenticated');
});

test('a bad source type, source id or key is refused with invalid_argument saying what is expected', async () => {
  const badType = await rejectsWith(
    listDependents('catalog-token', 'DATABASE', 'analytics'),
    'invalid_argument',
    'dependents.invalid_source_type',
  );
  assert.match(badType.message, /"DATABASE".*MANAGED.*KUBERNETES.*VAULT/);
  await rejectsWith(
    listDependents('catalog-token', '', 'analytics'),
    'invalid_argument',
    'dependents.invalid_source_type',
  );

  const emptyManaged = await rejectsWith(
    listDependents('catalog-token', 'MANAGED', ''),
    'invalid_argument',
    'dependents.invalid_source_id',
  );
  assert.match(emptyManaged.message, /domain name or "global"/);
  const emptyVault = await rejectsWith(
    listDependents('catalog-token', 'VAULT', ''),
    'invalid_argument',
    'dependents.invalid_source_id',
  );
  assert.match(emptyVault.message, /integration id/);
  await rejectsWith(
    listDependents('catalog-token', 'MANAGED', 'Not A Domain'),
    'invalid_argument',
    'dependents.invalid_source_id',
  );

  const badKey = await rejectsWith(
    listDependents('catalog-token', 'MANAGED', 'analytics', ['ok_key', 'bad key', 'also/bad']),
    'invalid_argument',
    'dependents.invalid_key',
  );
  assert.match(badKey.message, /2 of the keys are not a secret key.*"bad key"/);
});

const listLive = (token: string, deploymentIds: string[]) => {
  const c = client(token);
  return unary(c.listLiveDeployments.bind(c), { deploymentIds });
};

test('the catalog learns which deployments are live: a resolving one is, one replaced by a newer live one is not', async () => {
  const unknown = '00000000-0000-4000-8000-000000000000';
  assert.deepEqual(await listLive('catalog-token', [firstDeployment, unknown]), { liveIds: [firstDeployment] });
  const next = await repo.createDeployment(ledger, 'admin', []);
  // Resolving: both are live (the first runs until the second goes live).
  assert.deepEqual(
    [...(await listLive('catalog-token', [firstDeployment, next.id])).liveIds].sort(),
    [firstDeployment, next.id].sort(),
  );
  const claimed = await repo.claimForStart(`resolved:${next.id}`, next.id, 'runner', []);
  assert.ok(claimed);
  await repo.markDeployed(claimed.deployment, 2);
  assert.deepEqual(await listLive('catalog-token', [firstDeployment, next.id]), { liveIds: [next.id] });
  await repo.markEnded(next.id, 'stopped', null);
  assert.deepEqual(await listLive('catalog-token', [firstDeployment, next.id]), { liveIds: [] });
});

test('live deployments: only the catalog may ask, with UUIDs, at most 1000 at once', async () => {
  await rejectsWith(listLive('resolver-token', []), 'permission_denied', 'auth.forbidden_caller');
  await rejectsWith(listLive('gateway-token', []), 'permission_denied', 'auth.forbidden_caller');
  const bad = await rejectsWith(listLive('catalog-token', ['nope']), 'invalid_argument', 'deployments.invalid_id');
  assert.match(bad.message, /"nope" is not a UUID/);
  const many = Array.from({ length: 1001 }, () => firstDeployment);
  await rejectsWith(listLive('catalog-token', many), 'invalid_argument', 'deployments.too_many_ids');
});
