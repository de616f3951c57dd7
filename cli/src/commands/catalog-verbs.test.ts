import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { Metadata, Server, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  CatalogServiceService,
  type CatalogServiceServer,
  type CreateVaultIntegrationRequest,
  type SecretMetadata,
  type SelectorRequest,
  type SetRotationPolicyRequest,
  type TestVaultIntegrationRequest,
  type UpdateVaultIntegrationRequest,
  type VaultIntegration,
} from '@latchkey/proto';
import { writeConnectionFile } from '../local-state/connection-file.js';
import { generateCredentials } from '../local-state/credentials-file.js';
import { writeIdentityFile } from '../local-state/identity-file.js';
import { fakeIo } from '../testing/fake-io.js';
import { fakeServerTls } from '../testing/fake-server-tls.js';
import { main } from '../main.js';

/** Every request the fake catalog received, by method name. */
const seen = new Map<string, unknown[]>();
let home = '';
let server: Server;
const creds = generateCredentials();

function record(method: string, req: unknown): void {
  seen.set(method, [...(seen.get(method) ?? []), req]);
}
function last<T>(method: string): T {
  const all = seen.get(method) ?? [];
  assert.ok(all.length > 0, `${method} was not called`);
  return all.at(-1) as T;
}
const calls = (method: string): number => seen.get(method)?.length ?? 0;

function fail<T>(cb: sendUnaryData<T>, code: status, errorCode: string, details: string): void {
  const md = new Metadata();
  md.set('latchkey-error-code', errorCode);
  cb({ code, details, metadata: md });
}

function integration(extra: Partial<VaultIntegration> = {}): VaultIntegration {
  return {
    id: 'vi-1',
    domain: 'analytics',
    name: 'team-vault',
    host: 'https://vault.example:8200',
    path: '/v1/secret/data/team/app',
    namespace: '',
    bundle: 'b1',
    authMethod: 'token',
    roleId: '',
    layout: 'children',
    createdAt: '2025-01-01T00:00:00Z',
    updatedAt: '2025-01-02T00:00:00Z',
    updatedBy: 'admin',
    ...extra,
  };
}

function secret(key: string, version: number): SecretMetadata {
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
  };
}

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void;
function recording<Req, Res>(method: string, fn: Unary<Req, Res>): Unary<Req, Res> {
  return (call, cb) => {
    record(method, call.request);
    fn(call, cb);
  };
}
const unimplemented: Unary<unknown, never> = (_call, cb) =>
  cb({ code: status.UNIMPLEMENTED, details: 'not in this fake' });

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'latchkey-catalog-verbs-'));
  server = new Server();
  const catalog: CatalogServiceServer = {
    putSecret: unimplemented,
    listSecrets: unimplemented,
    setRotationPolicy: recording<SetRotationPolicyRequest, SecretMetadata>('setRotationPolicy', (call, cb) => {
      if (call.request.key === 'ghost') {
        fail(cb, status.NOT_FOUND, 'secret.not_found', 'secret ghost not found in domain analytics');
        return;
      }
      cb(null, {
        ...secret(call.request.key, 4),
        rotateEvery: call.request.rotateEvery === 'never' ? '' : call.request.rotateEvery,
      });
    }),
    deleteSecret: recording('deleteSecret', (call, cb) =>
      cb(null, {
        deleted: secret(call.request.key, 2),
        dependents: call.request.force ? ['analytics/nightly-etl', 'analytics/report'] : [],
      }),
    ),
    rotateKek: recording('rotateKek', (_call, cb) =>
      cb(null, { newKekId: 'kek-2', rewrapped: 7, retiredKekIds: ['kek-1'] }),
    ),
    createVaultIntegration: recording<CreateVaultIntegrationRequest, VaultIntegration>(
      'createVaultIntegration',
      (call, cb) => {
        const s = call.request.settings;
        if (s?.path.includes('/data/') !== true) {
          fail(cb, status.INVALID_ARGUMENT, 'vault.not_kv2', 'path is not a KV v2 data path');
          return;
        }
        cb(
          null,
          integration({
            id: 'vi-9',
            name: call.request.name,
            bundle: call.request.bundle,
            host: s.host,
            path: s.path,
            namespace: s.namespace,
            authMethod: s.authMethod,
            roleId: s.roleId,
            layout: s.layout,
          }),
        );
      },
    ),
    getVaultIntegration: recording('getVaultIntegration', (call, cb) => {
      if (call.request.integration === 'missing') {
        fail(cb, status.NOT_FOUND, 'vault.integration_not_found', 'no vault integration missing in domain analytics');
        return;
      }
      cb(null, integration({ namespace: 'team-a', authMethod: 'approle', roleId: 'role-1' }));
    }),
    listVaultIntegrations: recording('listVaultIntegrations', (_call, cb) =>
      cb(null, { integrations: [integration(), integration({ id: 'vi-2', name: 'other', layout: 'fields' })] }),
    ),
    updateVaultIntegration: recording<UpdateVaultIntegrationRequest, VaultIntegration>(
      'updateVaultIntegration',
      (call, cb) => {
        if (call.request.bundle !== undefined) {
          fail(
            cb,
            status.FAILED_PRECONDITION,
            'vault.bundle_immutable',
            'the bundle of an integration cannot change: create a new integration',
          );
          return;
        }
        cb(null, integration({ host: call.request.host ?? 'https://vault.example:8200' }));
      },
    ),
    deleteVaultIntegration: recording('deleteVaultIntegration', (call, cb) => {
      if (!call.request.force) {
        fail(
          cb,
          status.FAILED_PRECONDITION,
          'vault.integration_in_use',
          'team-vault is referenced by analytics/nightly-etl: use --force',
        );
        return;
      }
      cb(null, { deleted: integration(), dependents: ['analytics/nightly-etl'] });
    }),
    testVaultIntegration: recording<TestVaultIntegrationRequest, { outcome: string; message: string; keys: number }>(
      'testVaultIntegration',
      (call, cb) => {
        if (call.request.integration === 'team-vault') {
          cb(null, { outcome: 'ok', message: 'logged in and listed the path', keys: 3 });
        } else cb(null, { outcome: 'sealed', message: 'Vault is sealed', keys: 0 });
      },
    ),
    selector: recording<SelectorRequest, never>('selector', (call, cb) => {
      const page2 = call.request.pageToken === 'p2';
      (cb as sendUnaryData<unknown>)(null, {
        entries: page2
          ? [
              {
                key: 'api_key',
                sourceType: 'VAULT',
                backend: '',
                sourceId: 'vi-1',
                integrationName: 'team-vault',
                readOnly: true,
              },
            ]
          : [
              {
                key: 'db_password',
                sourceType: 'MANAGED',
                backend: 'database',
                sourceId: 'analytics',
                integrationName: '',
                readOnly: false,
              },
              {
                key: 'shared',
                sourceType: 'MANAGED',
                backend: 'database',
                sourceId: 'global',
                integrationName: '',
                readOnly: true,
              },
            ],
        sources: [
          { source: 'MANAGED:analytics', available: true, reason: '' },
          { source: 'VAULT:slow-vault (vi-3)', available: false, reason: 'timed out after 5 s' },
        ],
        nextPageToken: page2 ? '' : 'p2',
      });
    }),
    inventory: recording('inventory', (call, cb) => {
      const used = {
        secret: { ...secret('db_password', 3), rotateEvery: '90d' },
        workloadCount: 2,
        workloads: [] as string[],
        unreferenced: false,
        rotationDue: true,
        rotationDueAt: '2025-04-03T00:00:00.000Z',
      };
      if (call.request.usedByKey === 'db_password') {
        cb(null, { entries: [{ ...used, workloads: ['analytics/nightly-etl', 'analytics/report'] }] });
        return;
      }
      cb(null, {
        entries: [
          used,
          {
            secret: secret('old_token', 1),
            workloadCount: 0,
            workloads: [],
            unreferenced: true,
            rotationDue: false,
            rotationDueAt: '',
          },
          {
            secret: { ...secret('api_key', 2), rotateEvery: '36h' },
            workloadCount: 1,
            workloads: [],
            unreferenced: false,
            rotationDue: false,
            rotationDueAt: '2099-01-01T12:00:00.000Z',
          },
        ],
      });
    }),
  };
  server.addService(CatalogServiceService, catalog);
  // The fake services speak TLS with a certificate of their own CA, which the connection file names.
  const tls = await fakeServerTls(home);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', tls.credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  const credentialsFile = path.join(home, 'credentials.json');
  await writeFile(credentialsFile, JSON.stringify(creds));
  // The CLI's identity, as latchkey login stores it.
  await writeIdentityFile(home, {
    user: 'admin',
    groups: [],
    token: creds.admin,
    expiresAt: '2999-01-01T00:00:00.000Z',
  });
  const addr = `127.0.0.1:${port}`;
  await writeConnectionFile(home, {
    catalog: addr,
    ras: addr,
    resolver: addr,
    deployer: addr,
    credentialsFile,
    natsUrl: '',
    caFile: tls.caFile,
    insecure: false,
    pid: process.pid,
  });
});

after(() => server.forceShutdown());
beforeEach(() => seen.clear());

const io = (opts: { stdin?: string | Buffer; tty?: boolean } = {}): ReturnType<typeof fakeIo> =>
  fakeIo({ ...opts, env: { LATCHKEY_HOME: home } });

const CREATE = [
  'vault',
  'create',
  '--domain',
  'analytics',
  '--name',
  'team-vault',
  '--host',
  'https://vault.example:8200',
  '--path',
  '/v1/secret/data/team/app',
  '--bundle',
  'b1',
];

test('vault create sends the token from stdin minus one newline, and prints name and id', async () => {
  const out = io({ stdin: 's.tok3n-value\n' });
  assert.equal(await main([...CREATE, '--auth', 'token', '--namespace', 'team-a'], out), 0);
  const req = last<CreateVaultIntegrationRequest>('createVaultIntegration');
  assert.equal(req.domain, 'analytics');
  assert.equal(req.name, 'team-vault');
  assert.equal(req.bundle, 'b1');
  assert.equal(Buffer.from(req.settings?.credential ?? []).toString(), 's.tok3n-value');
  assert.deepEqual(
    { ...req.settings, credential: undefined },
    {
      host: 'https://vault.example:8200',
      path: '/v1/secret/data/team/app',
      namespace: 'team-a',
      authMethod: 'token',
      roleId: '',
      layout: 'children',
      credential: undefined,
    },
  );
  assert.deepEqual(out.stdoutLines, ['vault integration team-vault created (id vi-9)']);
});

test('vault create --auth approle reads the secret id from --credential-file; --json has no credential', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'latchkey-cred-'));
  const file = path.join(dir, 'secret-id');
  await writeFile(file, Buffer.from([0x00, 0xff, 0x41, 0x0a, 0x0a]));
  const out = io({ stdin: 'not this' });
  const argv = [...CREATE, '--auth', 'approle', '--role-id', 'role-1', '--layout', 'fields'];
  assert.equal(await main([...argv, '--credential-file', file, '--json'], out), 0);
  const req = last<CreateVaultIntegrationRequest>('createVaultIntegration');
  assert.deepEqual([...(req.settings?.credential ?? [])], [0x00, 0xff, 0x41, 0x0a]);
  assert.equal(req.settings?.authMethod, 'approle');
  assert.equal(req.settings?.roleId, 'role-1');
  assert.equal(req.settings?.layout, 'fields');
  const json = JSON.parse(out.stdoutLines.join('\n')) as Record<string, unknown>;
  assert.equal(json['id'], 'vi-9');
  assert.equal(json['authMethod'], 'approle');
  assert.equal('credential' in json, false);
});

test('a credential on the command line is refused without echoing it, and nothing is sent', async () => {
  for (const argv of [
    [...CREATE, '--auth', 'token', '--token', 's.hunter2'],
    [...CREATE, '--auth', 'approle', '--role-id', 'r', '--secret-id=hunter2'],
    [...CREATE, '--auth', 'token', '--credential', 'hunter2'],
    ['vault', 'update', 'team-vault', '--domain', 'analytics', '--token=hunter2'],
    ['vault', 'test', '--domain', 'analytics', '--host', 'h', '--path', 'p', '--auth', 'token', '--token', 'hunter2'],
    [...CREATE, '--auth', 'token', 'hunter2'],
  ]) {
    const out = io({ stdin: 'from-stdin' });
    assert.equal(await main(argv, out), 2, argv.join(' '));
    const all = out.stderrLines.join('\n');
    assert.match(all, /never go on the command line, where ps and shell history can see them/);
    assert.doesNotMatch(all, /hunter2/);
    assert.match(out.stderrLines.at(-1) ?? '', /^usage: latchkey vault /);
  }
  assert.equal(calls('createVaultIntegration') + calls('updateVaultIntegration') + calls('testVaultIntegration'), 0);
});

test('vault create usage errors exit 2 before reading the credential', async () => {
  const cases: [string[], RegExp][] = [
    [[...CREATE, '--auth', 'approle'], /--auth approle requires --role-id ID/],
    [[...CREATE, '--auth', 'ldap'], /--auth must be token or approle/],
    [[...CREATE, '--auth', 'token', '--layout', 'flat'], /--layout must be children or fields/],
    [CREATE.filter((a) => a !== '--bundle' && a !== 'b1').concat(['--auth', 'token']), /--bundle is required/],
    [['vault', 'create', '--domain', 'analytics', '--auth', 'token'], /--name is required/],
  ];
  for (const [argv, message] of cases) {
    const out = io({ stdin: 'tok' });
    assert.equal(await main(argv, out), 2, argv.join(' '));
    assert.match(out.stderrLines[0] ?? '', message, argv.join(' '));
  }
  assert.equal(calls('createVaultIntegration'), 0);
});

test('vault create refuses a terminal on stdin (exit 2) and an empty credential (exit 1)', async () => {
  const tty = io({ tty: true });
  assert.equal(await main([...CREATE, '--auth', 'token'], tty), 2);
  assert.match(tty.stderrLines[0] ?? '', /refusing to read a Vault credential from a terminal/);
  const empty = io({ stdin: '\n' });
  assert.equal(await main([...CREATE, '--auth', 'token'], empty), 1);
  assert.match(empty.stderrLines[0] ?? '', /the credential is empty \(nothing on stdin\)/);
  assert.equal(calls('createVaultIntegration'), 0);
});

test('a service error is printed as message and code, exit 1', async () => {
  const out = io({ stdin: 'tok' });
  const argv = CREATE.map((a) => (a === '/v1/secret/data/team/app' ? '/v1/secret/team/app' : a));
  assert.equal(await main([...argv, '--auth', 'token'], out), 1);
  assert.deepEqual(out.stderrLines, ['latchkey: path is not a KV v2 data path (vault.not_kv2)']);
  const get = io();
  assert.equal(await main(['vault', 'get', 'missing', '--domain', 'analytics'], get), 1);
  assert.deepEqual(get.stderrLines, [
    'latchkey: no vault integration missing in domain analytics (vault.integration_not_found)',
  ]);
});

test('vault get shows every field but a credential; vault list is a table', async () => {
  const get = io();
  assert.equal(await main(['vault', 'get', 'team-vault', '--domain', 'analytics'], get), 0);
  assert.deepEqual(last('getVaultIntegration'), { domain: 'analytics', integration: 'team-vault' });
  const text = get.stdoutLines.join('\n');
  for (const re of [
    /^id: +vi-1$/m,
    /^name: +team-vault$/m,
    /^host: +https:\/\/vault\.example:8200$/m,
    /^path: +\/v1\/secret\/data\/team\/app$/m,
    /^namespace: +team-a$/m,
    /^bundle: +b1$/m,
    /^auth method: +approle$/m,
    /^role id: +role-1$/m,
    /^layout: +children$/m,
    /^updated: +2025-01-02T00:00:00Z by admin$/m,
  ])
    assert.match(text, re);
  assert.doesNotMatch(text, /credential|token:/i);
  const list = io();
  assert.equal(await main(['vault', 'list', '--domain', 'analytics'], list), 0);
  assert.match(list.stdoutLines[0] ?? '', /^NAME +ID +HOST +PATH +NAMESPACE +AUTH +BUNDLE +LAYOUT +UPDATED$/);
  assert.match(list.stdoutLines[2] ?? '', /^other +vi-2 .* fields +2025-01-02T00:00:00Z$/);
  const json = io();
  assert.equal(await main(['vault', 'list', '--domain', 'analytics', '--json'], json), 0);
  assert.equal((JSON.parse(json.stdoutLines.join('\n')) as { integrations: unknown[] }).integrations.length, 2);
});

test('vault update sends only the options given; the credential from --credential-stdin', async () => {
  const out = io({ stdin: 'new-token\n' });
  const argv = ['vault', 'update', 'team-vault', '--domain', 'analytics', '--host', 'https://v2:8200'];
  assert.equal(await main([...argv, '--namespace', '', '--credential-stdin'], out), 0);
  const req = last<UpdateVaultIntegrationRequest>('updateVaultIntegration');
  assert.equal(req.integration, 'team-vault');
  assert.equal(req.host, 'https://v2:8200');
  assert.equal(req.namespace, '');
  assert.equal(Buffer.from(req.credential ?? []).toString(), 'new-token');
  for (const absent of ['name', 'path', 'authMethod', 'roleId', 'layout', 'bundle'] as const)
    assert.equal(req[absent], undefined, absent);
  assert.deepEqual(out.stdoutLines, ['vault integration team-vault updated (id vi-1)']);

  const noCred = io({ stdin: 'ignored' });
  assert.equal(await main(['vault', 'update', 'vi-1', '--domain', 'analytics', '--layout', 'fields'], noCred), 0);
  const req2 = last<UpdateVaultIntegrationRequest>('updateVaultIntegration');
  assert.equal(req2.layout, 'fields');
  assert.equal(req2.credential, undefined);
  assert.equal(req2.host, undefined);
});

test('vault update: --bundle is passed through and the service refusal is shown; usage errors exit 2', async () => {
  const out = io();
  assert.equal(await main(['vault', 'update', 'team-vault', '--domain', 'analytics', '--bundle', 'b2'], out), 1);
  assert.equal(last<UpdateVaultIntegrationRequest>('updateVaultIntegration').bundle, 'b2');
  assert.deepEqual(out.stderrLines, [
    'latchkey: the bundle of an integration cannot change: create a new integration (vault.bundle_immutable)',
  ]);
  const before = calls('updateVaultIntegration');
  for (const [argv, message] of [
    [['vault', 'update', 'team-vault', '--domain', 'analytics'], /nothing to update/],
    [['vault', 'update', '--domain', 'analytics', '--host', 'h'], /missing NAME_OR_ID/],
    [
      ['vault', 'update', 'team-vault', '--domain', 'analytics', '--credential-file', 'f', '--credential-stdin'],
      /either --credential-file or --credential-stdin/,
    ],
    [['vault', 'update', 'team-vault', '--domain', 'analytics', '--auth', 'kerberos'], /--auth must be/],
  ] as [string[], RegExp][]) {
    const e = io({ stdin: 'x' });
    assert.equal(await main(argv, e), 2, argv.join(' '));
    assert.match(e.stderrLines[0] ?? '', message);
  }
  assert.equal(calls('updateVaultIntegration'), before);
});

test('vault delete is refused without --force; with it, lists the dependents', async () => {
  const refused = io();
  assert.equal(await main(['vault', 'delete', 'team-vault', '--domain', 'analytics'], refused), 1);
  assert.match(refused.stderrLines[0] ?? '', /referenced by analytics\/nightly-etl.*\(vault\.integration_in_use\)$/);
  const out = io();
  assert.equal(await main(['vault', 'delete', 'team-vault', '--domain', 'analytics', '--force'], out), 0);
  assert.deepEqual(last('deleteVaultIntegration'), { domain: 'analytics', integration: 'team-vault', force: true });
  assert.deepEqual(out.stdoutLines, [
    'vault integration team-vault deleted (id vi-1)',
    'workloads that referenced its keys (1):',
    '  analytics/nightly-etl',
  ]);
});

test('vault test: a saved integration that is ok exits 0 and reads no credential', async () => {
  const out = io({ tty: true });
  assert.equal(await main(['vault', 'test', '--domain', 'analytics', 'team-vault'], out), 0);
  const req = last<TestVaultIntegrationRequest>('testVaultIntegration');
  assert.equal(req.integration, 'team-vault');
  assert.equal(req.settings, undefined);
  assert.deepEqual(out.stdoutLines, ['ok: logged in and listed the path (3 keys)']);
});

test('vault test: unsaved settings send the credential; any outcome but ok exits 1', async () => {
  const argv = ['vault', 'test', '--domain', 'analytics', '--host', 'https://v:8200', '--path', '/v1/kv/data/x'];
  const out = io({ stdin: 'secret-id\n' });
  assert.equal(await main([...argv, '--auth', 'approle', '--role-id', 'r1'], out), 1);
  const req = last<TestVaultIntegrationRequest>('testVaultIntegration');
  assert.equal(req.integration, '');
  assert.equal(Buffer.from(req.settings?.credential ?? []).toString(), 'secret-id');
  assert.equal(req.settings?.roleId, 'r1');
  assert.deepEqual(out.stdoutLines, ['sealed: Vault is sealed']);
  const json = io({ stdin: 'tok' });
  assert.equal(await main([...argv, '--auth', 'token', '--json'], json), 1);
  assert.deepEqual(JSON.parse(json.stdoutLines.join('\n')), { outcome: 'sealed', message: 'Vault is sealed', keys: 0 });
});

test('vault test usage errors exit 2', async () => {
  for (const [argv, message] of [
    [['vault', 'test', '--domain', 'analytics'], /give NAME_OR_ID of a saved integration, or --host/],
    [['vault', 'test', 'team-vault', '--domain', 'analytics', '--host', 'h'], /not both \(--host was given\)/],
    [['vault', 'test', '--domain', 'analytics', '--host', 'h', '--auth', 'token'], /--path is required/],
    [['vault', 'test', 'a', 'b', '--domain', 'analytics'], /unexpected extra argument \(not repeated here\)/],
  ] as [string[], RegExp][]) {
    const e = io({ stdin: 'x' });
    assert.equal(await main(argv, e), 2, argv.join(' '));
    assert.match(e.stderrLines[0] ?? '', message);
  }
  assert.equal(calls('testVaultIntegration'), 0);
});

test('secret delete --force sets force and prints the dependents', async () => {
  const plain = io();
  assert.equal(await main(['secret', 'delete', 'db_password', '--domain', 'analytics'], plain), 0);
  assert.equal((last('deleteSecret') as { force: boolean }).force, false);
  assert.deepEqual(plain.stdoutLines, ['db_password deleted from domain analytics']);
  const forced = io();
  assert.equal(await main(['secret', 'delete', 'db_password', '--domain', 'analytics', '--force'], forced), 0);
  assert.equal((last('deleteSecret') as { force: boolean }).force, true);
  assert.deepEqual(forced.stdoutLines, [
    'db_password deleted from domain analytics',
    'workloads that referenced it, now stale (2):',
    '  analytics/nightly-etl',
    '  analytics/report',
  ]);
});

test('kek rotate prints the new kek and the re-wrap count', async () => {
  const out = io();
  assert.equal(await main(['kek', 'rotate'], out), 0);
  assert.deepEqual(out.stdoutLines, ['new kek kek-2; 7 data keys re-wrapped', 'retired: kek-1']);
  const json = io();
  assert.equal(await main(['kek', 'rotate', '--json'], json), 0);
  assert.deepEqual(JSON.parse(json.stdoutLines.join('\n')), {
    newKekId: 'kek-2',
    rewrapped: 7,
    retiredKekIds: ['kek-1'],
  });
});

test('secret selector follows every page and lists unavailable sources with their reasons', async () => {
  const out = io();
  assert.equal(await main(['secret', 'selector', '--domain', 'analytics'], out), 0);
  assert.deepEqual(
    (seen.get('selector') as SelectorRequest[]).map((r) => r.pageToken),
    ['', 'p2'],
  );
  assert.match(out.stdoutLines[0] ?? '', /^KEY +SOURCE +BACKEND\/INTEGRATION +READ-ONLY$/);
  assert.match(out.stdoutLines[1] ?? '', /^db_password +MANAGED:analytics +database +no$/);
  assert.match(out.stdoutLines[2] ?? '', /^shared +MANAGED:global +database +yes$/);
  assert.match(out.stdoutLines[3] ?? '', /^api_key +VAULT +team-vault \(vi-1\) +yes$/);
  assert.deepEqual(out.stdoutLines.slice(4), ['unavailable: VAULT:slow-vault (vi-3): timed out after 5 s']);
});

test('secret selector --page-size asks for one page and shows how to get the next', async () => {
  const out = io();
  assert.equal(await main(['secret', 'selector', '--domain', 'analytics', '--page-size', '2', '--json'], out), 0);
  assert.equal(calls('selector'), 1);
  assert.equal(last<SelectorRequest>('selector').pageSize, 2);
  const json = JSON.parse(out.stdoutLines.join('\n')) as { entries: unknown[]; nextPageToken: string };
  assert.equal(json.entries.length, 2);
  assert.equal(json.nextPageToken, 'p2');
  const bad = io();
  assert.equal(await main(['secret', 'selector', '--domain', 'analytics', '--page-size', '0'], bad), 2);
  assert.match(bad.stderrLines[0] ?? '', /--page-size must be a positive whole number/);
});

test('inventory flags unreferenced secrets and those due for rotation; --used-by lists the workloads', async () => {
  const out = io();
  assert.equal(await main(['inventory', '--domain', 'analytics'], out), 0);
  assert.deepEqual(last('inventory'), { scope: { domain: 'analytics', global: false }, usedByKey: '' });
  assert.match(out.stdoutLines[0] ?? '', /^KEY +SOURCE +VERSION +UPDATED +BY +WORKLOADS +ROTATION$/);
  assert.match(
    out.stdoutLines[1] ?? '',
    /^db_password +MANAGED +3 +2025-01-03T00:00:00Z +alice +2 +90d, DUE since 2025-04-03T00:00:00.000Z$/,
  );
  assert.match(out.stdoutLines[2] ?? '', /^old_token +MANAGED +1 +.* +0 \(unreferenced\) +-$/);
  assert.match(out.stdoutLines[3] ?? '', /^api_key +MANAGED +2 +.* +1 +36h, due 2099-01-01T12:00:00.000Z$/);
  assert.equal(
    out.stdoutLines[4],
    '1 of 3 secrets are due for rotation (db_password): put a new value with latchkey secret put KEY',
  );
  assert.equal(out.stdoutLines[5], '1 of 3 secrets are referenced by no workload');
  const json = io();
  assert.equal(await main(['inventory', '--domain', 'analytics', '--json'], json), 0);
  const entries = (JSON.parse(json.stdoutLines.join('\n')) as { entries: Record<string, unknown>[] }).entries;
  assert.deepEqual(
    entries.map((e) => [e['rotationDue'], e['rotationDueAt']]),
    [
      [true, '2025-04-03T00:00:00.000Z'],
      [false, ''],
      [false, '2099-01-01T12:00:00.000Z'],
    ],
  );
  const used = io();
  assert.equal(await main(['inventory', '--domain', 'analytics', '--used-by', 'db_password'], used), 0);
  assert.equal(last<{ usedByKey: string }>('inventory').usedByKey, 'db_password');
  assert.deepEqual(used.stdoutLines.slice(2), [
    'workloads that reference db_password:',
    '  analytics/nightly-etl',
    '  analytics/report',
  ]);
  const neither = io();
  assert.equal(await main(['inventory'], neither), 2);
  assert.match(neither.stderrLines[0] ?? '', /--domain DOMAIN or --global is required/);
});

test('secret policy sets or removes a rotation policy and says which', async () => {
  const set = io();
  assert.equal(
    await main(['secret', 'policy', 'db_password', '--domain', 'analytics', '--rotate-every', '90d'], set),
    0,
  );
  assert.deepEqual(last('setRotationPolicy'), {
    scope: { domain: 'analytics', global: false },
    key: 'db_password',
    rotateEvery: '90d',
  });
  assert.deepEqual(set.stdoutLines, ['db_password in domain analytics: rotate every 90d']);
  const cleared = io();
  assert.equal(
    await main(['secret', 'policy', 'db_password', '--global', '--rotate-every', 'never', '--json'], cleared),
    0,
  );
  assert.equal(last<SetRotationPolicyRequest>('setRotationPolicy').rotateEvery, 'never');
  assert.equal((JSON.parse(cleared.stdoutLines.join('\n')) as { rotateEvery: string }).rotateEvery, '');
});

test('secret policy without --rotate-every, or with a malformed one, is a usage error; a missing key is the catalog’s error', async () => {
  const missing = io();
  assert.equal(await main(['secret', 'policy', 'db_password', '--domain', 'analytics'], missing), 2);
  assert.match(missing.stderrLines.join('\n'), /--rotate-every is required: <N>d or <N>h \(e.g. 90d\), or never/);
  const bad = io();
  assert.equal(
    await main(['secret', 'policy', 'db_password', '--domain', 'analytics', '--rotate-every', '90'], bad),
    2,
  );
  assert.match(bad.stderrLines.join('\n'), /--rotate-every "90" is not a rotation period/);
  assert.equal(calls('setRotationPolicy'), 0);
  const ghost = io();
  assert.equal(await main(['secret', 'policy', 'ghost', '--domain', 'analytics', '--rotate-every', '30d'], ghost), 1);
  assert.deepEqual(ghost.stderrLines, ['latchkey: secret ghost not found in domain analytics (secret.not_found)']);
});

test('--help lists the new verbs', async () => {
  const out = fakeIo();
  assert.equal(await main(['--help'], out), 0);
  const text = out.stdoutLines.join('\n');
  for (const verb of [
    'bundle create',
    'vault create',
    'vault test',
    'kek rotate',
    'secret selector',
    'secret policy',
    'inventory',
    'vault update',
  ])
    assert.match(text, new RegExp(`^  ${verb} `, 'm'));
  const group = fakeIo();
  assert.equal(await main(['vault', '--help'], group), 0);
  assert.equal(group.stdoutLines.length, 6);
});
