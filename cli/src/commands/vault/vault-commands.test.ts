import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type {
  CreateVaultIntegrationRequest,
  TestVaultIntegrationRequest,
  UpdateVaultIntegrationRequest,
  VaultIntegration,
} from '@latchkey/proto';
import { unlessForced } from '@latchkey/testing';
import { main } from '../../main.js';
import { fail, useFakeServices } from '../../testing/fake-services.js';

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

/** A catalog that keeps Vault integrations: answers by the name or id asked for. */
const fake = useFakeServices({
  catalog: {
    createVaultIntegration: (call, cb) => {
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
    getVaultIntegration: (call, cb) => {
      if (call.request.integration === 'missing') {
        fail(cb, status.NOT_FOUND, 'vault.integration_not_found', 'no vault integration missing in domain analytics');
        return;
      }
      cb(null, integration({ namespace: 'team-a', authMethod: 'approle', roleId: 'role-1' }));
    },
    listVaultIntegrations: (_call, cb) =>
      cb(null, { integrations: [integration(), integration({ id: 'vi-2', name: 'other', layout: 'fields' })] }),
    updateVaultIntegration: (call, cb) => {
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
    deleteVaultIntegration: unlessForced(
      'vault.integration_in_use',
      'team-vault is referenced by analytics/nightly-etl: use --force',
      () => ({ deleted: integration(), dependents: ['analytics/nightly-etl'] }),
    ),
    testVaultIntegration: (call, cb) => {
      if (call.request.integration === 'team-vault') {
        cb(null, { outcome: 'ok', message: 'logged in and listed the path', keys: 3 });
      } else cb(null, { outcome: 'sealed', message: 'Vault is sealed', keys: 0 });
    },
  },
});

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
  const out = fake.io({ stdin: 's.tok3n-value\n' });
  assert.equal(await main([...CREATE, '--auth', 'token', '--namespace', 'team-a'], out), 0);
  const req = fake.last<CreateVaultIntegrationRequest>('createVaultIntegration');
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
  const out = fake.io({ stdin: 'not this' });
  const argv = [...CREATE, '--auth', 'approle', '--role-id', 'role-1', '--layout', 'fields'];
  assert.equal(await main([...argv, '--credential-file', file, '--json'], out), 0);
  const req = fake.last<CreateVaultIntegrationRequest>('createVaultIntegration');
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
    const out = fake.io({ stdin: 'from-stdin' });
    assert.equal(await main(argv, out), 2, argv.join(' '));
    const all = out.stderrLines.join('\n');
    assert.match(all, /never go on the command line, where ps and shell history can see them/);
    assert.doesNotMatch(all, /hunter2/);
    assert.match(out.stderrLines.at(-1) ?? '', /^usage: latchkey vault /);
  }
  assert.equal(
    fake.calls('createVaultIntegration') + fake.calls('updateVaultIntegration') + fake.calls('testVaultIntegration'),
    0,
  );
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
    const out = fake.io({ stdin: 'tok' });
    assert.equal(await main(argv, out), 2, argv.join(' '));
    assert.match(out.stderrLines[0] ?? '', message, argv.join(' '));
  }
  assert.equal(fake.calls('createVaultIntegration'), 0);
});

test('vault create refuses a terminal on stdin (exit 2) and an empty credential (exit 1)', async () => {
  const tty = fake.io({ tty: true });
  assert.equal(await main([...CREATE, '--auth', 'token'], tty), 2);
  assert.match(tty.stderrLines[0] ?? '', /refusing to read a Vault credential from a terminal/);
  const empty = fake.io({ stdin: '\n' });
  assert.equal(await main([...CREATE, '--auth', 'token'], empty), 1);
  assert.match(empty.stderrLines[0] ?? '', /the credential is empty \(nothing on stdin\)/);
  assert.equal(fake.calls('createVaultIntegration'), 0);
});

test('a service error is printed as message and code, exit 1', async () => {
  const out = fake.io({ stdin: 'tok' });
  const argv = CREATE.map((a) => (a === '/v1/secret/data/team/app' ? '/v1/secret/team/app' : a));
  assert.equal(await main([...argv, '--auth', 'token'], out), 1);
  assert.deepEqual(out.stderrLines, ['latchkey: path is not a KV v2 data path (vault.not_kv2)']);
  const get = fake.io();
  assert.equal(await main(['vault', 'get', 'missing', '--domain', 'analytics'], get), 1);
  assert.deepEqual(get.stderrLines, [
    'latchkey: no vault integration missing in domain analytics (vault.integration_not_found)',
  ]);
});

test('vault get shows every field but a credential; vault list is a table', async () => {
  const get = fake.io();
  assert.equal(await main(['vault', 'get', 'team-vault', '--domain', 'analytics'], get), 0);
  assert.deepEqual(fake.last('getVaultIntegration'), { domain: 'analytics', integration: 'team-vault' });
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
  const list = fake.io();
  assert.equal(await main(['vault', 'list', '--domain', 'analytics'], list), 0);
  assert.match(list.stdoutLines[0] ?? '', /^NAME +ID +HOST +PATH +NAMESPACE +AUTH +BUNDLE +LAYOUT +UPDATED$/);
  assert.match(list.stdoutLines[2] ?? '', /^other +vi-2 .* fields +2025-01-02T00:00:00Z$/);
  const json = fake.io();
  assert.equal(await main(['vault', 'list', '--domain', 'analytics', '--json'], json), 0);
  assert.equal((JSON.parse(json.stdoutLines.join('\n')) as { integrations: unknown[] }).integrations.length, 2);
});

test('vault update sends only the options given; the credential from --credential-stdin', async () => {
  const out = fake.io({ stdin: 'new-token\n' });
  const argv = ['vault', 'update', 'team-vault', '--domain', 'analytics', '--host', 'https://v2:8200'];
  assert.equal(await main([...argv, '--namespace', '', '--credential-stdin'], out), 0);
  const req = fake.last<UpdateVaultIntegrationRequest>('updateVaultIntegration');
  assert.equal(req.integration, 'team-vault');
  assert.equal(req.host, 'https://v2:8200');
  assert.equal(req.namespace, '');
  assert.equal(Buffer.from(req.credential ?? []).toString(), 'new-token');
  for (const absent of ['name', 'path', 'authMethod', 'roleId', 'layout', 'bundle'] as const)
    assert.equal(req[absent], undefined, absent);
  assert.deepEqual(out.stdoutLines, ['vault integration team-vault updated (id vi-1)']);

  const noCred = fake.io({ stdin: 'ignored' });
  assert.equal(await main(['vault', 'update', 'vi-1', '--domain', 'analytics', '--layout', 'fields'], noCred), 0);
  const req2 = fake.last<UpdateVaultIntegrationRequest>('updateVaultIntegration');
  assert.equal(req2.layout, 'fields');
  assert.equal(req2.credential, undefined);
  assert.equal(req2.host, undefined);
});

test('vault update: --bundle is passed through and the service refusal is shown; usage errors exit 2', async () => {
  const out = fake.io();
  assert.equal(await main(['vault', 'update', 'team-vault', '--domain', 'analytics', '--bundle', 'b2'], out), 1);
  assert.equal(fake.last<UpdateVaultIntegrationRequest>('updateVaultIntegration').bundle, 'b2');
  assert.deepEqual(out.stderrLines, [
    'latchkey: the bundle of an integration cannot change: create a new integration (vault.bundle_immutable)',
  ]);
  const before = fake.calls('updateVaultIntegration');
  for (const [argv, message] of [
    [['vault', 'update', 'team-vault', '--domain', 'analytics'], /nothing to update/],
    [['vault', 'update', '--domain', 'analytics', '--host', 'h'], /missing NAME_OR_ID/],
    [
      ['vault', 'update', 'team-vault', '--domain', 'analytics', '--credential-file', 'f', '--credential-stdin'],
      /either --credential-file or --credential-stdin/,
    ],
    [['vault', 'update', 'team-vault', '--domain', 'analytics', '--auth', 'kerberos'], /--auth must be/],
  ] as [string[], RegExp][]) {
    const e = fake.io({ stdin: 'x' });
    assert.equal(await main(argv, e), 2, argv.join(' '));
    assert.match(e.stderrLines[0] ?? '', message);
  }
  assert.equal(fake.calls('updateVaultIntegration'), before);
});

test('vault delete is refused without --force; with it, lists the dependents', async () => {
  const refused = fake.io();
  assert.equal(await main(['vault', 'delete', 'team-vault', '--domain', 'analytics'], refused), 1);
  assert.match(refused.stderrLines[0] ?? '', /referenced by analytics\/nightly-etl.*\(vault\.integration_in_use\)$/);
  const out = fake.io();
  assert.equal(await main(['vault', 'delete', 'team-vault', '--domain', 'analytics', '--force'], out), 0);
  assert.deepEqual(fake.last('deleteVaultIntegration'), {
    domain: 'analytics',
    integration: 'team-vault',
    force: true,
  });
  assert.deepEqual(out.stdoutLines, [
    'vault integration team-vault deleted (id vi-1)',
    'workloads that referenced its keys (1):',
    '  analytics/nightly-etl',
  ]);
});

test('vault test: a saved integration that is ok exits 0 and reads no credential', async () => {
  const out = fake.io({ tty: true });
  assert.equal(await main(['vault', 'test', '--domain', 'analytics', 'team-vault'], out), 0);
  const req = fake.last<TestVaultIntegrationRequest>('testVaultIntegration');
  assert.equal(req.integration, 'team-vault');
  assert.equal(req.settings, undefined);
  assert.deepEqual(out.stdoutLines, ['ok: logged in and listed the path (3 keys)']);
});

test('vault test: unsaved settings send the credential; any outcome but ok exits 1', async () => {
  const argv = ['vault', 'test', '--domain', 'analytics', '--host', 'https://v:8200', '--path', '/v1/kv/data/x'];
  const out = fake.io({ stdin: 'secret-id\n' });
  assert.equal(await main([...argv, '--auth', 'approle', '--role-id', 'r1'], out), 1);
  const req = fake.last<TestVaultIntegrationRequest>('testVaultIntegration');
  assert.equal(req.integration, '');
  assert.equal(Buffer.from(req.settings?.credential ?? []).toString(), 'secret-id');
  assert.equal(req.settings?.roleId, 'r1');
  assert.deepEqual(out.stdoutLines, ['sealed: Vault is sealed']);
  const json = fake.io({ stdin: 'tok' });
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
    const e = fake.io({ stdin: 'x' });
    assert.equal(await main(argv, e), 2, argv.join(' '));
    assert.match(e.stderrLines[0] ?? '', message);
  }
  assert.equal(fake.calls('testVaultIntegration'), 0);
});
