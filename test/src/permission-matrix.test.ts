import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client, ServiceDefinition } from '@grpc/grpc-js';
import { LatchkeyError } from '@latchkey/errors';
import { createClient, ensureLocalIssuer, localIssuerFiles, mintLocalToken, unary } from '@latchkey/grpc';
import {
  CatalogInternalClient,
  CatalogInternalService,
  CatalogServiceClient,
  CatalogServiceService,
  DeployerInternalClient,
  DeployerInternalService,
  DeployerServiceClient,
  DeployerServiceService,
  RasServiceClient,
  RasServiceService,
} from '@latchkey/proto';
import { startVaultEmulator, waitFor, type VaultEmulator } from '@latchkey/testing';
import { CALLERS, expected, POLICY, TARGETS, type Caller, type Outcome, type Target } from './permission-policy.js';
import { startSystem, type RunningSystem } from './system-harness.js';

// One embedded system for the whole file: the matrix, then the named rules.

const OWN = 'analytics';
const OTHER = 'finance';
/** The stranger's domain: a member there, nothing in the own or the other domain. */
const THIRD = 'marketing';
const MISSING_DOMAIN = 'nowhere';
/** A managed key of the other domain, as the internal value and key lookups name one. */
const OTHER_DOMAIN_ITEM = {
  refId: 'r',
  key: 'fin_password',
  scope: { domain: OTHER, global: false },
  fallbackToGlobal: false,
  sourceType: 'MANAGED',
  integrationId: '',
};

const USERS: Readonly<Record<Exclude<Caller, 'anonymous' | 'bad-token' | 'expired-token'>, string>> = {
  stranger: 'mallory',
  member: 'mia',
  maintainer: 'max',
  owner: 'olive',
  admin: 'admin',
};

/** The names the other domain holds; none may appear in an answer to anyone without a role there. */
const OTHER_NAMES = [OTHER, 'fin_password', 'fin-int', 'fin-vault', 'fin-job', 'fin-lake'];

const canary = `matrix-canary-${randomBytes(12).toString('hex')}`;
let canaries = 0;
const value = () => Buffer.from(`${canary}-${++canaries}`);

type Service = 'CatalogService' | 'CatalogInternal' | 'DeployerService' | 'DeployerInternal' | 'RasService';

const DEFINITIONS: Readonly<Record<Service, ServiceDefinition>> = {
  CatalogService: CatalogServiceService,
  CatalogInternal: CatalogInternalService,
  DeployerService: DeployerServiceService,
  DeployerInternal: DeployerInternalService,
  RasService: RasServiceService,
};

type UnaryFn = Parameters<typeof unary<unknown, unknown>>[0];

/** One caller's clients of every service, over TLS trusting the local CA, with its token if it has one. */
class Caller$ {
  private readonly clients = new Map<Service, Client>();
  constructor(
    private readonly conn: Connection,
    private readonly ca: Buffer,
    private readonly token: string | undefined,
  ) {}

  private client(service: Service): Client {
    let c = this.clients.get(service);
    if (c) return c;
    const identity = this.token === undefined ? { tls: { ca: this.ca } } : { token: this.token, tls: { ca: this.ca } };
    const ctor = {
      CatalogService: CatalogServiceClient,
      CatalogInternal: CatalogInternalClient,
      DeployerService: DeployerServiceClient,
      DeployerInternal: DeployerInternalClient,
      RasService: RasServiceClient,
    }[service];
    const address = service.startsWith('Catalog')
      ? this.conn.catalog
      : service.startsWith('Deployer')
        ? this.conn.deployer
        : this.conn.ras;
    c = createClient<Client>(ctor, address, identity);
    this.clients.set(service, c);
    return c;
  }

  /** Calls `rpc` ("Service.Method") with `partial` over the request's defaults. */
  async call(rpc: string, partial: Record<string, unknown>): Promise<unknown> {
    const [service, method] = rpc.split('.') as [Service, string];
    const key = method.charAt(0).toLowerCase() + method.slice(1);
    const def = DEFINITIONS[service][key];
    assert.ok(def, `no method ${rpc}`);
    const request = { ...(def.requestDeserialize(Buffer.alloc(0)) as object), ...partial };
    const client = this.client(service) as unknown as Record<string, UnaryFn>;
    const fn = client[key];
    assert.ok(fn, `no client method ${rpc}`);
    return unary(fn.bind(client), request, 15_000);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}

interface Connection {
  ras: string;
  catalog: string;
  deployer: string;
  caFile: string;
}

/** What one call came to: `allow`, or the code and message of its refusal. */
interface Observed {
  outcome: Outcome | string;
  message: string;
  response?: unknown;
}

async function observe(p: Promise<unknown>): Promise<Observed> {
  try {
    const response = await p;
    return { outcome: 'allow', message: '', response };
  } catch (err) {
    if (!(err instanceof LatchkeyError)) throw err;
    return { outcome: err.code, message: err.message };
  }
}

/**
 * Where one call is aimed. In the `missing` variant (other domain only) the
 * names it picks do not exist: a key, integration, bundle, workload or
 * deployment missing from the other domain, or, for calls that name only a
 * domain, a domain that does not exist.
 */
class Aim {
  /** [existing, missing] name pairs used: swapping them back must turn one refusal into the other. */
  readonly swaps: [string, string][] = [];
  constructor(
    readonly target: Target,
    readonly caller: Caller,
    readonly missing = false,
  ) {}

  /** The domain of the target (`global` for global scope). */
  get domain(): string {
    return { own: OWN, other: OTHER, global: 'global', none: '' }[this.target];
  }

  /** The domain, for a call whose only name is its domain. */
  domainOnly(): string {
    if (!this.missing) return this.domain;
    this.swaps.push([OTHER, MISSING_DOMAIN]);
    return MISSING_DOMAIN;
  }

  /** A name by target; on the other domain, `ghost` instead in the missing variant. */
  pick(names: { own: string; other: string; global?: string }, ghost: string): string {
    if (this.target === 'other' && this.missing) {
      this.swaps.push([names.other, ghost]);
      return ghost;
    }
    return this.target === 'own' ? names.own : this.target === 'other' ? names.other : (names.global ?? names.own);
  }

  /** The scope message of catalog calls. */
  scope(): { domain: string; global: boolean } {
    return this.target === 'global' ? { domain: '', global: true } : { domain: this.domainOnly(), global: false };
  }

  /** A name unique to this caller (things it creates). */
  tagged(prefix: string, sep = '-'): string {
    return `${prefix}${sep}${this.caller}`;
  }
}

interface Row {
  rpc: string;
  request: (a: Aim) => Record<string, unknown>;
  /** What the call needs, made by the platform admin first (not in the missing variant). */
  setup?: (a: Aim, admin: Caller$) => Promise<unknown>;
}

const grantee = { kind: 'user', id: 'matrix-grantee' };
const bundleOf = (a: Aim) => a.pick({ own: 'team-vault', other: 'fin-vault' }, 'ghost-bundle');
const integrationOf = (a: Aim) => a.pick({ own: 'team-int', other: 'fin-int' }, 'ghost-int');
const workloadOf = (a: Aim) => a.pick({ own: 'etl', other: 'fin-job' }, 'ghost-job');
const storageOf = (a: Aim) => a.pick({ own: 'lake', other: 'fin-lake' }, 'ghost-lake');

const vaultSettings = () => ({
  host: 'http://127.0.0.1:9',
  path: '/v1/secret/data/team',
  namespace: '',
  authMethod: 'token',
  roleId: '',
  credential: Buffer.from(`hvs.${canary}`),
  layout: '',
});

const workloadSpec = (name: string, domain: string) =>
  JSON.stringify({
    name,
    kind: 'COMPUTE',
    envVars: { DB_PASSWORD: { key: 'db_password', source: { type: 'MANAGED', id: domain } } },
    run: { command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] },
  });

/** A storage config whose endpoint refuses connections: a connection test resolves its secret, then fails to connect. */
const storageSpec = (name: string, domain: string, key: string) =>
  JSON.stringify({
    name,
    kind: 'STORAGE_CONFIG',
    endpoint: 'http://127.0.0.1:9',
    bucket: 'lake',
    pathStyle: true,
    accessKey: 'AKIAMATRIX',
    storageSecret: { key, source: { type: 'MANAGED', id: domain } },
  });

/** Filled in by the fixture: deployment ids of the own and the other domain. */
const deployments = { own: '', other: '' };

const ROWS: Row[] = [
  // CatalogService
  {
    rpc: 'CatalogService.PutSecret',
    request: (a) => ({
      scope: a.scope(),
      key: a.pick({ own: 'db_password', other: 'fin_password', global: 'global_key' }, 'ghost_password'),
      value: value(),
    }),
  },
  { rpc: 'CatalogService.ListSecrets', request: (a) => ({ scope: a.scope() }) },
  {
    rpc: 'CatalogService.DeleteSecret',
    setup: (a, admin) =>
      admin.call('CatalogService.PutSecret', { scope: a.scope(), key: a.tagged('del', '_'), value: value() }),
    request: (a) => ({
      scope: a.scope(),
      key: a.pick({ own: a.tagged('del', '_'), other: a.tagged('del', '_') }, 'ghost_password'),
    }),
  },
  {
    rpc: 'CatalogService.SetRotationPolicy',
    request: (a) => ({
      scope: a.scope(),
      key: a.pick({ own: 'db_password', other: 'fin_password', global: 'global_key' }, 'ghost_password'),
      rotateEvery: '90d',
    }),
  },
  { rpc: 'CatalogService.RotateKek', request: () => ({}) },
  {
    rpc: 'CatalogService.CreateVaultIntegration',
    request: (a) => ({
      domain: a.domain,
      name: a.tagged('m'),
      bundle: bundleOf(a),
      settings: vaultSettings(),
    }),
  },
  {
    rpc: 'CatalogService.GetVaultIntegration',
    request: (a) => ({ domain: a.domain, integration: integrationOf(a) }),
  },
  { rpc: 'CatalogService.ListVaultIntegrations', request: (a) => ({ domain: a.domainOnly() }) },
  {
    rpc: 'CatalogService.UpdateVaultIntegration',
    request: (a) => ({ domain: a.domain, integration: integrationOf(a), path: '/v1/secret/data/team' }),
  },
  {
    rpc: 'CatalogService.DeleteVaultIntegration',
    setup: (a, admin) =>
      admin.call('CatalogService.CreateVaultIntegration', {
        domain: a.domain,
        name: a.tagged('del'),
        bundle: bundleOf(a),
        settings: vaultSettings(),
      }),
    request: (a) => ({
      domain: a.domain,
      integration: a.pick({ own: a.tagged('del'), other: a.tagged('del') }, 'ghost-int'),
    }),
  },
  {
    rpc: 'CatalogService.TestVaultIntegration',
    request: (a) => ({ domain: a.domain, integration: integrationOf(a) }),
  },
  { rpc: 'CatalogService.Selector', request: (a) => ({ domain: a.domainOnly() }) },
  { rpc: 'CatalogService.Inventory', request: (a) => ({ scope: a.scope() }) },
  {
    rpc: 'CatalogService.RestoreSecret',
    setup: async (a, admin) => {
      await admin.call('CatalogService.PutSecret', { scope: a.scope(), key: a.tagged('rst', '_'), value: value() });
      await admin.call('CatalogService.DeleteSecret', { scope: a.scope(), key: a.tagged('rst', '_') });
    },
    request: (a) => ({
      scope: a.scope(),
      key: a.pick({ own: a.tagged('rst', '_'), other: a.tagged('rst', '_') }, 'ghost_password'),
    }),
  },
  {
    rpc: 'CatalogService.ListSecretVersions',
    request: (a) => ({
      scope: a.scope(),
      key: a.pick({ own: 'db_password', other: 'fin_password', global: 'global_key' }, 'ghost_password'),
    }),
  },
  {
    rpc: 'CatalogService.RollbackSecret',
    setup: async (a, admin) => {
      for (let i = 0; i < 2; i++) {
        await admin.call('CatalogService.PutSecret', { scope: a.scope(), key: a.tagged('rb', '_'), value: value() });
      }
    },
    request: (a) => ({
      scope: a.scope(),
      key: a.pick({ own: a.tagged('rb', '_'), other: a.tagged('rb', '_') }, 'ghost_password'),
      toVersion: 1,
    }),
  },
  {
    rpc: 'CatalogService.SetSecretVersionState',
    setup: (a, admin) =>
      admin.call('CatalogService.PutSecret', { scope: a.scope(), key: a.tagged('dis', '_'), value: value() }),
    request: (a) => ({
      scope: a.scope(),
      key: a.pick({ own: a.tagged('dis', '_'), other: a.tagged('dis', '_') }, 'ghost_password'),
      version: 1,
      disabled: true,
    }),
  },

  // DeployerService
  {
    rpc: 'DeployerService.ApplyWorkload',
    request: (a) => ({ domain: a.domainOnly(), specJson: workloadSpec(a.tagged('job'), a.domain) }),
  },
  { rpc: 'DeployerService.GetWorkload', request: (a) => ({ domain: a.domain, name: workloadOf(a) }) },
  { rpc: 'DeployerService.ListWorkloads', request: (a) => ({ domain: a.target === 'none' ? '' : a.domainOnly() }) },
  { rpc: 'DeployerService.Deploy', request: (a) => ({ domain: a.domain, name: workloadOf(a) }) },
  { rpc: 'DeployerService.DryRun', request: (a) => ({ domain: a.domain, name: workloadOf(a) }) },
  {
    rpc: 'DeployerService.GetDeployment',
    request: (a) => ({
      domain: a.domain,
      id: a.pick({ own: deployments.own, other: deployments.other }, '00000000-0000-4000-8000-000000000000'),
    }),
  },
  { rpc: 'DeployerService.Redeploy', request: (a) => ({ domain: a.domain, name: workloadOf(a) }) },
  { rpc: 'DeployerService.StopWorkload', request: (a) => ({ domain: a.domain, name: workloadOf(a) }) },
  { rpc: 'DeployerService.GetLogs', request: (a) => ({ domain: a.domain, name: workloadOf(a) }) },
  {
    rpc: 'DeployerService.DeleteWorkload',
    setup: (a, admin) =>
      admin.call('DeployerService.ApplyWorkload', {
        domain: a.domain,
        specJson: workloadSpec(a.tagged('del'), a.domain),
      }),
    request: (a) => ({ domain: a.domain, name: a.pick({ own: a.tagged('del'), other: a.tagged('del') }, 'ghost-job') }),
  },
  { rpc: 'DeployerService.TestWorkload', request: (a) => ({ domain: a.domain, name: storageOf(a) }) },

  // RasService
  { rpc: 'RasService.CreateBundle', request: (a) => ({ domain: a.domainOnly(), name: a.tagged('b') }) },
  { rpc: 'RasService.GetBundle', request: (a) => ({ domain: a.domain, name: bundleOf(a) }) },
  { rpc: 'RasService.ListBundles', request: (a) => ({ domain: a.domainOnly() }) },
  {
    rpc: 'RasService.GrantBundle',
    request: (a) => ({ domain: a.domain, bundle: bundleOf(a), grantee, permissions: ['USE'] }),
  },
  {
    rpc: 'RasService.RevokeBundle',
    setup: (a, admin) =>
      admin.call('RasService.GrantBundle', { domain: a.domain, bundle: bundleOf(a), grantee, permissions: ['USE'] }),
    request: (a) => ({ domain: a.domain, bundle: bundleOf(a), grantee, permissions: [] }),
  },
  { rpc: 'RasService.ListBundleGrants', request: (a) => ({ domain: a.domain, bundle: bundleOf(a) }) },
  { rpc: 'RasService.CreateDomain', request: (a) => ({ name: a.tagged('d') }) },
  { rpc: 'RasService.GetDomain', request: (a) => ({ name: a.domainOnly() }) },
  { rpc: 'RasService.ListDomains', request: () => ({}) },
  {
    rpc: 'RasService.GrantDomainRole',
    request: (a) => ({ domain: a.domainOnly(), grantee, role: 'member' }),
  },
  {
    rpc: 'RasService.RevokeDomainRole',
    setup: (a, admin) => admin.call('RasService.GrantDomainRole', { domain: a.domain, grantee, role: 'member' }),
    request: (a) => ({ domain: a.domainOnly(), grantee, role: '' }),
  },
  { rpc: 'RasService.ListDomainMembers', request: (a) => ({ domain: a.domainOnly() }) },
  {
    rpc: 'RasService.Check',
    request: () => ({ principal: 'admin', action: 'secret.list', domain: OTHER }),
  },
  {
    rpc: 'RasService.CheckBatch',
    request: () => ({
      checks: [
        {
          principal: 'admin',
          action: 'secret.list',
          domain: OTHER,
          resource: '',
          groups: [],
          scope: '',
          requestId: '',
        },
      ],
    }),
  },
  { rpc: 'RasService.WhoAmI', request: () => ({}) },
  { rpc: 'RasService.ListAudit', request: (a) => ({ domain: a.domainOnly(), limit: 5 }) },
  {
    rpc: 'RasService.MintEventCredentials',
    request: (a) => ({ domains: [a.domainOnly()], name: 'hook', ttlDays: 1 }),
  },

  // The internal services: only service certificates get in.
  {
    rpc: 'CatalogInternal.ReadValues',
    request: () => ({ items: [OTHER_DOMAIN_ITEM] }),
  },
  {
    rpc: 'CatalogInternal.FindKeys',
    request: () => ({ items: [OTHER_DOMAIN_ITEM] }),
  },
  {
    rpc: 'CatalogInternal.IntegrationBundles',
    request: () => ({ domain: OTHER, integrationIds: ['00000000-0000-4000-8000-000000000000'] }),
  },
  {
    rpc: 'DeployerInternal.ListDependents',
    request: () => ({ sourceType: 'MANAGED', sourceId: OTHER, keys: [] }),
  },
  { rpc: 'DeployerInternal.ListDeployedVaultKeys', request: () => ({}) },
  {
    rpc: 'DeployerInternal.BeginDeletion',
    request: () => ({ sourceType: 'MANAGED', sourceId: OTHER, keys: ['fin_password'], force: true }),
  },
  { rpc: 'DeployerInternal.EndDeletion', request: () => ({ deletionId: '00000000-0000-4000-8000-000000000000' }) },
  { rpc: 'DeployerInternal.ListRuntimeSecrets', request: () => ({ token: `lkw_${'A'.repeat(43)}` }) },
  {
    rpc: 'DeployerInternal.ListHeldVersions',
    request: () => ({ sourceType: 'MANAGED', sourceId: OWN, key: 'db_password' }),
  },
  { rpc: 'DeployerInternal.ListLiveDeployments', request: () => ({ deploymentIds: [] }) },
  {
    rpc: 'DeployerInternal.ReadRuntimeSecret',
    request: () => ({ token: `lkw_${'A'.repeat(43)}`, key: 'fin_password', sourceType: '', sourceId: '' }),
  },
];

let sys: RunningSystem;
let vault: VaultEmulator;
let vaultToken: string;
const callers = new Map<Caller, Caller$>();
/** Opens clients with a token of its own (the named tests' users). */
let as: (user: string, groups?: string[]) => Promise<Caller$>;
const extra: Caller$[] = [];
let admin: Caller$;

before(async () => {
  vault = await startVaultEmulator();
  // The Vault emulator listens on 127.0.0.1, which integrations may use only when allowed.
  sys = await startSystem({ env: { LATCHKEY_RUNTIME: 'noop', LATCHKEY_VAULT_ALLOWED_HOSTS: '127.0.0.1' } });
  const conn = JSON.parse(await readFile(join(sys.home, 'connection.json'), 'utf8')) as Connection;
  const ca = await readFile(conn.caFile);
  const { signingKeyFile } = localIssuerFiles(sys.home);
  const mint = async (user: string, groups: string[] = [], now?: () => Date) =>
    (await mintLocalToken(signingKeyFile, { user, groups, ttlSec: 600, ...(now ? { now } : {}) })).token;
  // A key the services do not trust, from an issuer of the same shape.
  const rogue = localIssuerFiles(join(sys.home, 'rogue'));
  await mkdir(join(sys.home, 'rogue'));
  await ensureLocalIssuer(rogue);
  const tokens: Record<Caller, string | undefined> = {
    anonymous: undefined,
    'bad-token': (await mintLocalToken(rogue.signingKeyFile, { user: 'admin', groups: [], ttlSec: 600 })).token,
    'expired-token': await mint('admin', [], () => new Date(Date.now() - 3_600_000)),
    stranger: await mint(USERS.stranger),
    member: await mint(USERS.member),
    maintainer: await mint(USERS.maintainer),
    owner: await mint(USERS.owner),
    admin: await mint(USERS.admin),
  };
  for (const c of CALLERS) callers.set(c, new Caller$(conn, ca, tokens[c]));
  as = async (user, groups = []) => {
    const c = new Caller$(conn, ca, await mint(user, groups));
    extra.push(c);
    return c;
  };
  admin = callers.get('admin')!;

  // The world: three domains, roles in the own one, a bundle and an integration, a secret and a deployed workload in each.
  for (const d of [OWN, OTHER, THIRD]) await admin.call('RasService.CreateDomain', { name: d });
  const grant = (domain: string, id: string, role: string) =>
    admin.call('RasService.GrantDomainRole', { domain, grantee: { kind: 'user', id }, role });
  await grant(OWN, USERS.member, 'member');
  await grant(OWN, USERS.maintainer, 'maintainer');
  await grant(OWN, USERS.owner, 'owner');
  await grant(THIRD, USERS.stranger, 'member');
  await grant(OTHER, 'fiona', 'owner');
  vaultToken = await vault.addToken(['secret/data/team', 'secret/metadata/team']);
  await vault.putSecret('secret', 'team/vault_password', { value: `${canary}-vault` });
  for (const [domain, bundle, integration, key, job, lake] of [
    [OWN, 'team-vault', 'team-int', 'db_password', 'etl', 'lake'],
    [OTHER, 'fin-vault', 'fin-int', 'fin_password', 'fin-job', 'fin-lake'],
  ] as const) {
    await admin.call('RasService.CreateBundle', { domain, name: bundle });
    await admin.call('CatalogService.CreateVaultIntegration', {
      domain,
      name: integration,
      bundle,
      settings: { ...vaultSettings(), host: vault.url, credential: Buffer.from(vaultToken) },
    });
    await admin.call('CatalogService.PutSecret', { scope: { domain, global: false }, key, value: value() });
    await admin.call('DeployerService.ApplyWorkload', {
      domain,
      specJson: workloadSpec(job, domain).replace('db_password', key),
    });
    await admin.call('DeployerService.ApplyWorkload', { domain, specJson: storageSpec(lake, domain, key) });
    const d = (await admin.call('DeployerService.Deploy', { domain, name: job })) as { id: string };
    deployments[domain === OWN ? 'own' : 'other'] = d.id;
  }
  await admin.call('CatalogService.PutSecret', {
    scope: { domain: '', global: true },
    key: 'global_key',
    value: value(),
  });
});

after(async () => {
  for (const c of [...callers.values(), ...extra]) c.close();
  await sys?.cleanup();
  await vault?.stop();
});

/** "Service.Method" of every method the services define. */
function definedRpcs(): string[] {
  return Object.entries(DEFINITIONS).flatMap(([service, def]) =>
    Object.values(def).map((m) => `${service}.${m.path.split('/').pop() ?? ''}`),
  );
}

test('the policy table and the matrix cover every RPC of every service, public and internal', () => {
  const defined = definedRpcs().sort();
  assert.deepEqual(Object.keys(POLICY).sort(), defined, 'the policy table has one entry per RPC');
  assert.deepEqual(ROWS.map((r) => r.rpc).sort(), defined, 'the matrix calls every RPC');
  for (const [rpc, cells] of Object.entries(POLICY)) {
    const targets = Object.keys(cells);
    assert.ok(
      targets.join() === 'none' || ['own', 'other', 'global'].every((t) => targets.includes(t)),
      `${rpc}: either no domain (none) or every target (own, other, global, and none where a domain is optional)`,
    );
  }
});

test('permission matrix: every RPC × every caller × own/other/global domain answers as the policy table says, and nothing else is allowed', async () => {
  const mismatches: string[] = [];
  const leaks: string[] = [];
  const differences: string[] = [];
  let calls = 0;
  for (const row of ROWS) {
    for (const target of TARGETS) {
      if (POLICY[row.rpc]?.[target] === undefined) continue;
      for (const caller of CALLERS) {
        const c = callers.get(caller)!;
        const aim = new Aim(target, caller);
        // A setup the target does not allow (global scope has no bundles) is refused: the call shows how.
        if (row.setup) await row.setup(new Aim(target, caller), admin).catch(() => undefined);
        const got = await observe(c.call(row.rpc, row.request(aim)));
        calls++;
        const want = expected(row.rpc, target, caller);
        const cell = `${row.rpc} ${target} as ${caller}`;
        if (got.outcome !== want) {
          mismatches.push(`${cell}: expected ${want}, got ${got.outcome}${got.message ? ` (${got.message})` : ''}`);
        }
        const text = JSON.stringify(got.response ?? '') + got.message;
        if (text.includes(canary)) leaks.push(`${cell}: a secret value or credential in the answer`);
        if (caller !== 'admin' && target !== 'other') {
          const named = OTHER_NAMES.filter((n) => text.includes(n));
          if (named.length > 0) leaks.push(`${cell}: names of the other domain in the answer: ${named.join(', ')}`);
        }
        // A refusal in the other domain reads the same whether what was named exists or not.
        if (target === 'other' && want !== 'allow') {
          const ghost = new Aim(target, caller, true);
          const missing = await observe(c.call(row.rpc, row.request(ghost)));
          calls++;
          let message = missing.message;
          for (const [existing, name] of ghost.swaps) message = message.replaceAll(name, existing);
          if (missing.outcome !== got.outcome || message !== got.message) {
            differences.push(
              `${cell}: existing → ${got.outcome} "${got.message}"; missing → ${missing.outcome} "${missing.message}"`,
            );
          }
        }
      }
    }
  }
  assert.ok(calls > 500, `the matrix made ${calls} calls`);
  const report = (title: string, lines: string[]) => (lines.length ? [`${title}:`, ...lines] : []);
  const failures = [
    ...report('outcomes that differ from the policy table', mismatches),
    ...report('answers that carry what they must not', leaks),
    ...report('refusals that tell an existing name from a missing one', differences),
  ];
  assert.equal(failures.length, 0, failures.join('\n'));
});

// The seed documents' rules, each by name, through the running system.

interface Integration {
  id: string;
  name: string;
  bundle: string;
  namespace: string;
}
interface SelectorAnswer {
  entries: { key: string; sourceType: string; sourceId: string; integrationName: string; readOnly: boolean }[];
  sources: { source: string; available: boolean }[];
}
interface DeploymentView {
  id: string;
  status: string;
  reasons: string[];
}

/** `user` gets `permissions` on bundle `bundle` of the own domain until the test ends. */
async function grantOnBundle(
  t: { after: (fn: () => Promise<unknown>) => void },
  user: string,
  bundle: string,
  permissions: string[],
): Promise<void> {
  const grantee = { kind: 'user', id: user };
  await admin.call('RasService.GrantBundle', { domain: OWN, bundle, grantee, permissions });
  t.after(() => admin.call('RasService.RevokeBundle', { domain: OWN, bundle, grantee, permissions }));
}

/** Waits until `fn` answers `allow` (a grant reaches every decision cache within a second). */
const allowedSoon = (what: string, fn: () => Promise<unknown>) =>
  waitFor(
    async () => {
      const o = await observe(fn());
      return o.outcome === 'allow' ? o.response : undefined;
    },
    { what, timeoutMs: 5000 },
  );

/** Deploys as `c` and waits for the deployment to leave resolving. */
async function deployAndSettle(c: Caller$, name: string): Promise<DeploymentView> {
  const d = (await c.call('DeployerService.Deploy', { domain: OWN, name })) as DeploymentView;
  return waitFor(
    async () => {
      const now = (await admin.call('DeployerService.GetDeployment', { domain: OWN, id: d.id })) as DeploymentView;
      return ['deployed', 'failed'].includes(now.status) ? now : undefined;
    },
    { what: `deployment ${d.id} of ${name} to settle`, timeoutMs: 20_000 },
  );
}

test('seed rule: only owners and platform admins create Vault integrations', async (t) => {
  // UPDATE on the bundle does not make a maintainer an integration creator: that is MANAGE_VAULT, a role's.
  await grantOnBundle(t, USERS.maintainer, 'team-vault', ['UPDATE']);
  // The grant is in effect (no cached refusal from before it could make the refusal below pass by itself).
  await allowedSoon('the UPDATE grant', () =>
    callers.get('maintainer')!.call('CatalogService.UpdateVaultIntegration', {
      domain: OWN,
      integration: 'team-int',
      namespace: '',
    }),
  );
  const create = (who: Caller) =>
    observe(
      callers.get(who)!.call('CatalogService.CreateVaultIntegration', {
        domain: OWN,
        name: `seed-${who}`,
        bundle: 'team-vault',
        settings: vaultSettings(),
      }),
    );
  for (const who of ['member', 'maintainer'] as const) {
    const o = await create(who);
    assert.equal(o.outcome, 'ras.permission_denied', who);
    assert.match(o.message, /needs MANAGE_VAULT, which owners hold/);
  }
  for (const who of ['owner', 'admin'] as const) {
    const o = await create(who);
    assert.equal(o.outcome, 'allow', `${who}: ${o.message}`);
    assert.equal((o.response as Integration).bundle, 'team-vault');
  }
});

test('seed rule: an integration’s bundle is fixed at creation', async () => {
  await admin.call('RasService.CreateBundle', { domain: OWN, name: 'other-vault' });
  const owner = callers.get('owner')!;
  await owner.call('CatalogService.CreateVaultIntegration', {
    domain: OWN,
    name: 'fixed-int',
    bundle: 'team-vault',
    settings: vaultSettings(),
  });
  for (const who of ['owner', 'admin'] as const) {
    const o = await observe(
      callers.get(who)!.call('CatalogService.UpdateVaultIntegration', {
        domain: OWN,
        integration: 'fixed-int',
        bundle: 'other-vault',
      }),
    );
    assert.equal(o.outcome, 'vault.bundle_fixed', who);
    assert.match(o.message, /belongs to bundle team-vault, fixed at creation: .*create a new integration/);
  }
  const got = (await owner.call('CatalogService.GetVaultIntegration', {
    domain: OWN,
    integration: 'fixed-int',
  })) as Integration;
  assert.equal(got.bundle, 'team-vault');
  // Naming the bundle it has is no change, and allowed.
  await owner.call('CatalogService.UpdateVaultIntegration', {
    domain: OWN,
    integration: 'fixed-int',
    bundle: 'team-vault',
    namespace: 'team',
  });
});

test('seed rule: listing Vault keys in the selector needs USE on the bundle and LIST_SECRETS', async (t) => {
  const member = callers.get('member')!;
  const vaultEntries = (s: SelectorAnswer) => s.entries.filter((e) => e.sourceType === 'VAULT');
  const before = (await member.call('CatalogService.Selector', { domain: OWN })) as SelectorAnswer;
  assert.deepEqual(vaultEntries(before), [], 'LIST_SECRETS without USE: no Vault key');
  assert.ok(!before.sources.some((s) => s.source.startsWith('vault:')), 'not even the integration’s name');
  assert.ok(
    before.entries.some((e) => e.key === 'db_password'),
    'the domain’s managed keys are listed',
  );

  // USE without LIST_SECRETS (no role in the domain): the selector is refused.
  const una = await as('una');
  await grantOnBundle(t, 'una', 'team-vault', ['USE']);
  await grantOnBundle(t, USERS.member, 'team-vault', ['USE']);
  // Once USE is in effect (the member sees the integration's keys: same grant path, same caches), una is still refused.
  await waitFor(
    async () =>
      ((await member.call('CatalogService.Selector', { domain: OWN })) as SelectorAnswer).entries.some(
        (e) => e.sourceType === 'VAULT',
      ),
    { what: 'the USE grants to take effect', timeoutMs: 5000 },
  );
  const refused = await observe(una.call('CatalogService.Selector', { domain: OWN }));
  assert.equal(refused.outcome, 'ras.permission_denied');

  // Both: the integration's keys are listed, read-only, labelled with the integration.
  const after = await waitFor(
    async () => {
      const s = (await member.call('CatalogService.Selector', { domain: OWN })) as SelectorAnswer;
      return vaultEntries(s).length > 0 ? s : undefined;
    },
    { what: 'the USE grant to reach the selector', timeoutMs: 5000 },
  );
  assert.deepEqual(
    vaultEntries(after).map((e) => [e.key, e.integrationName, e.readOnly]),
    [['vault_password', 'team-int', true]],
  );
});

test('seed rule: global secrets are read-only to domains (only platform admins change them)', async () => {
  for (const who of ['owner', 'maintainer'] as const) {
    const c = callers.get(who)!;
    for (const [rpc, request] of [
      ['CatalogService.PutSecret', { scope: { domain: '', global: true }, key: 'global_key', value: value() }],
      ['CatalogService.DeleteSecret', { scope: { domain: '', global: true }, key: 'global_key' }],
    ] as const) {
      const o = await observe(c.call(rpc, request));
      assert.equal(o.outcome, 'ras.permission_denied', `${who} ${rpc}`);
      assert.match(o.message, /global secrets are managed by platform admins/);
    }
  }
  const put = (await admin.call('CatalogService.PutSecret', {
    scope: { domain: '', global: true },
    key: 'global_key',
    value: value(),
  })) as { version: number };
  assert.ok(put.version >= 2);

  // Domains read them: in the selector, read-only, and by reference from a workload.
  const member = callers.get('member')!;
  const s = (await member.call('CatalogService.Selector', { domain: OWN })) as SelectorAnswer;
  assert.deepEqual(
    s.entries.filter((e) => e.key === 'global_key').map((e) => [e.sourceId, e.readOnly]),
    [['global', true]],
  );
  await member.call('DeployerService.ApplyWorkload', {
    domain: OWN,
    specJson: JSON.stringify({
      name: 'uses-global',
      kind: 'COMPUTE',
      envVars: { SMTP: { key: 'global_key', source: { type: 'MANAGED', id: 'global' } } },
      run: { command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] },
    }),
  });
  const plan = (await member.call('DeployerService.DryRun', { domain: OWN, name: 'uses-global' })) as {
    ok: boolean;
    references: { key: string; ok: boolean; scope: string; version: number }[];
  };
  assert.deepEqual(
    plan.references.map((r) => [r.key, r.ok, r.scope, r.version]),
    [['global_key', true, 'global', put.version]],
  );
});

test('a Vault integration’s configuration needs VIEW on its bundle to be seen and UPDATE to be changed, tested or deleted', async (t) => {
  const member = callers.get('member')!;
  const get = () => member.call('CatalogService.GetVaultIntegration', { domain: OWN, integration: 'team-int' });
  const list = async () =>
    ((await member.call('CatalogService.ListVaultIntegrations', { domain: OWN })) as { integrations: Integration[] })
      .integrations;
  const update = () =>
    member.call('CatalogService.UpdateVaultIntegration', { domain: OWN, integration: 'team-int', namespace: '' });
  const denied = await observe(get());
  assert.equal(denied.outcome, 'ras.permission_denied');
  assert.match(denied.message, /may not bundle\.view on bundle team-vault/);
  assert.deepEqual(await list(), []);

  await grantOnBundle(t, USERS.member, 'team-vault', ['VIEW']);
  const seen = (await allowedSoon('the VIEW grant', get)) as Integration;
  assert.equal(seen.name, 'team-int');
  assert.ok(!JSON.stringify(seen).includes(vaultToken), 'the credential is never shown');
  assert.ok((await list()).some((i) => i.name === 'team-int'));
  const noUpdate = await observe(update());
  assert.equal(noUpdate.outcome, 'ras.permission_denied');
  assert.match(noUpdate.message, /may not bundle\.update on bundle team-vault/);

  await grantOnBundle(t, USERS.member, 'team-vault', ['UPDATE']);
  await allowedSoon('the UPDATE grant', update);
  const tested = (await member.call('CatalogService.TestVaultIntegration', {
    domain: OWN,
    integration: 'team-int',
  })) as { outcome: string };
  assert.equal(tested.outcome, 'ok');
  await callers.get('owner')!.call('CatalogService.CreateVaultIntegration', {
    domain: OWN,
    name: 'scratch-int',
    bundle: 'team-vault',
    settings: vaultSettings(),
  });
  await member.call('CatalogService.DeleteVaultIntegration', { domain: OWN, integration: 'scratch-int' });
});

test('a deployment’s Vault reference needs USE on the integration’s bundle, checked by the resolver for the deploying principal', async (t) => {
  const { id } = (await admin.call('CatalogService.GetVaultIntegration', {
    domain: OWN,
    integration: 'team-int',
  })) as Integration;
  await admin.call('DeployerService.ApplyWorkload', {
    domain: OWN,
    specJson: JSON.stringify({
      name: 'vault-job',
      kind: 'COMPUTE',
      envVars: { PASSWORD: { key: 'vault_password', source: { type: 'VAULT', id } } },
      run: { command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] },
    }),
  });
  // mia may deploy in the domain (USE_SECRETS) but holds no USE on team-vault.
  const member = callers.get('member')!;
  const failed = await deployAndSettle(member, 'vault-job');
  assert.equal(failed.status, 'failed');
  assert.equal(failed.reasons.length, 1);
  assert.match(failed.reasons[0]!, /vault_password/);
  assert.match(failed.reasons[0]!, /needs USE on its bundle team-vault/);
  assert.match(failed.reasons[0]!, /ras\.permission_denied/);
  assert.ok(!JSON.stringify(failed).includes(canary), 'no value in the reasons');

  await grantOnBundle(t, USERS.member, 'team-vault', ['USE']);
  const deployed = await waitFor(
    async () => {
      const d = await deployAndSettle(member, 'vault-job');
      return d.status === 'deployed' ? d : undefined;
    },
    { what: 'a deployment after the USE grant', timeoutMs: 20_000 },
  );
  assert.deepEqual(deployed.reasons, []);
});

test('the resolver’s secret.read audit record names the deploying principal’s groups', async () => {
  await admin.call('RasService.GrantDomainRole', {
    domain: OWN,
    grantee: { kind: 'group', id: 'data-eng' },
    role: 'member',
  });
  const gus = await as('gus', ['data-eng']);
  const d = await deployAndSettle(gus, 'etl');
  assert.equal(d.status, 'deployed', d.reasons.join('; '));
  const record = await waitFor(
    async () => {
      const { records } = (await admin.call('RasService.ListAudit', { domain: OWN, actor: 'gus', limit: 100 })) as {
        records: { service: string; action: string; groups: string[]; requestId: string }[];
      };
      return records.find((r) => r.service === 'resolver' && r.action === 'secret.read' && r.requestId === d.id);
    },
    { what: 'the secret.read record of the deployment', timeoutMs: 20_000 },
  );
  assert.deepEqual(record.groups, ['data-eng']);
});
