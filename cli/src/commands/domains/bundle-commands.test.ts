import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { Bundle, BundleGrant, RevokeBundleRequest } from '@latchkey/proto';
import { FAKE_TIME, fail, grantedBy, useFakeServices } from '../../testing/fake-services.js';

const bundle = (domain: string, name: string): Bundle => ({ domain, name, createdAt: FAKE_TIME, createdBy: 'admin' });
const bundleGrant = (bundleName: string, kind: string, id: string, permission: string): BundleGrant => ({
  domain: 'analytics',
  bundle: bundleName,
  grantee: { kind, id },
  permission,
  ...grantedBy('olive'),
});

const fake = useFakeServices({
  ras: {
    createBundle: (call, cb) => cb(null, bundle(call.request.domain, call.request.name)),
    getBundle: (call, cb) => {
      if (call.request.name === 'ghost') {
        fail(cb, status.NOT_FOUND, 'bundle.not_found', 'bundle ghost not found in domain analytics');
        return;
      }
      cb(null, bundle(call.request.domain, call.request.name));
    },
    listBundles: (call, cb) =>
      cb(null, { bundles: [bundle(call.request.domain, 'b1'), bundle(call.request.domain, 'b2')] }),
    grantBundle: (call, cb) => {
      const { bundle: b, grantee, permissions } = call.request;
      const granted = call.request.bundle === 'held' ? [] : permissions;
      cb(null, { granted: granted.map((p) => bundleGrant(b, grantee?.kind ?? '', grantee?.id ?? '', p)) });
    },
    revokeBundle: (call, cb) => {
      const { bundle: b, grantee, permissions } = call.request;
      const revoked = permissions.length > 0 ? permissions : ['VIEW', 'USE'];
      cb(null, { revoked: revoked.map((p) => bundleGrant(b, grantee?.kind ?? '', grantee?.id ?? '', p)) });
    },
    listBundleGrants: (call, cb) =>
      cb(null, {
        grants:
          call.request.bundle === 'empty'
            ? []
            : [
                bundleGrant(call.request.bundle, 'user', 'alice', 'VIEW'),
                bundleGrant(call.request.bundle, 'user', 'alice', 'USE'),
                bundleGrant(call.request.bundle, 'group', 'data-eng', 'USE'),
              ],
      }),
  },
});

test('bundle create and list talk to ras', async () => {
  const create = await fake.run(['bundle', 'create', 'b1', '--domain', 'analytics'], 0);
  assert.deepEqual(fake.last('createBundle'), { domain: 'analytics', name: 'b1' });
  assert.deepEqual(create.stdoutLines, ['bundle b1 created in domain analytics']);
  const list = await fake.run(['bundle', 'list', '--domain', 'analytics'], 0);
  assert.equal(list.stdoutLines.length, 3);
  assert.match(list.stdoutLines[2] ?? '', /^b2 +2025-01-01T00:00:00Z +admin$/);
  const missing = await fake.run(['bundle', 'create', 'b1'], 2);
  assert.match(missing.stderrLines[0] ?? '', /--domain is required/);
});

test('bundle show lists the grants, one line per grantee', async () => {
  const out = await fake.run(['bundle', 'show', 'team-vault', '--domain', 'analytics'], 0);
  assert.deepEqual(fake.last('getBundle'), { domain: 'analytics', name: 'team-vault' });
  assert.deepEqual(fake.last('listBundleGrants'), { domain: 'analytics', bundle: 'team-vault' });
  assert.deepEqual(out.stdoutLines.slice(0, 5), [
    'bundle:      team-vault',
    'domain:      analytics',
    'created:     2025-01-01T00:00:00Z',
    'created by:  admin',
    'grants:',
  ]);
  assert.match(out.stdoutLines[5] ?? '', /^ {2}KIND +NAME +PERMISSIONS$/);
  assert.match(out.stdoutLines[6] ?? '', /^ {2}user +alice +VIEW, USE$/);
  assert.match(out.stdoutLines[7] ?? '', /^ {2}group +data-eng +USE$/);
  const empty = await fake.run(['bundle', 'show', 'empty', '--domain', 'analytics'], 0);
  assert.equal(
    empty.stdoutLines.at(-1),
    'grants:      none (grant with latchkey bundle grant empty --domain analytics --user USER --permission USE)',
  );
});

test('bundle show --json is the bundle with its grants; a missing bundle is the service error', async () => {
  const out = await fake.run(['bundle', 'show', 'team-vault', '--domain', 'analytics', '--json'], 0);
  const json = JSON.parse(out.stdoutLines.join('\n')) as Record<string, unknown> & { grants: BundleGrant[] };
  assert.equal(json['name'], 'team-vault');
  assert.equal(json['createdBy'], 'admin');
  assert.deepEqual(
    json.grants.map((g) => `${g.grantee?.kind ?? ''}:${g.grantee?.id ?? ''}=${g.permission}`),
    ['user:alice=VIEW', 'user:alice=USE', 'group:data-eng=USE'],
  );
  const missing = await fake.run(['bundle', 'show', 'ghost', '--domain', 'analytics'], 1);
  assert.deepEqual(missing.stderrLines, ['latchkey: bundle ghost not found in domain analytics (bundle.not_found)']);
  assert.equal(fake.calls('listBundleGrants'), 1);
});

test('bundle grant takes comma-separated permissions in any case and says what was granted', async () => {
  const out = await fake.run(
    ['bundle', 'grant', 'team-vault', '--domain', 'analytics', '--group', 'data-eng', '--permission', 'view, use'],
    0,
  );
  assert.deepEqual(fake.last('grantBundle'), {
    domain: 'analytics',
    bundle: 'team-vault',
    grantee: { kind: 'group', id: 'data-eng' },
    permissions: ['VIEW', 'USE'],
  });
  assert.deepEqual(out.stdoutLines, ['granted VIEW, USE on bundle team-vault in domain analytics to group data-eng']);
  const held = await fake.run(
    ['bundle', 'grant', 'held', '--domain', 'analytics', '--user', 'bob', '--permission', 'USE'],
    0,
  );
  assert.deepEqual(held.stdoutLines, ['user bob already holds USE on bundle held: nothing changed']);
  const json = await fake.run(
    ['bundle', 'grant', 'team-vault', '--domain', 'analytics', '--user', 'bob', '--permission', 'UPDATE', '--json'],
    0,
  );
  assert.equal(
    (JSON.parse(json.stdoutLines.join('\n')) as { granted: BundleGrant[] }).granted[0]?.permission,
    'UPDATE',
  );
});

test('bundle grant and revoke usage errors exit 2 and send nothing', async () => {
  const base = ['team-vault', '--domain', 'analytics'];
  const cases: [string[], RegExp][] = [
    [['bundle', 'grant', ...base, '--user', 'bob'], /--permission is required: VIEW, UPDATE, USE/],
    [
      ['bundle', 'grant', ...base, '--user', 'bob', '--permission', 'READ'],
      /--permission takes VIEW, UPDATE, USE .* not "READ"/,
    ],
    [['bundle', 'grant', ...base, '--user', 'bob', '--permission', 'USE,'], /not ""/],
    [['bundle', 'grant', ...base, '--permission', 'USE'], /--user USER or --group GROUP is required/],
    [['bundle', 'grant', 'team-vault', '--user', 'bob', '--permission', 'USE'], /--domain is required/],
    [['bundle', 'revoke', ...base, '--user', 'bob', '--group', 'g'], /either --user or --group, not both/],
    [['bundle', 'revoke', ...base, '--user', 'bob', '--permission', 'ALL'], /--permission takes/],
  ];
  for (const [argv, message] of cases) {
    const out = await fake.run(argv, 2);
    assert.match(out.stderrLines[0] ?? '', message, argv.join(' '));
  }
  assert.equal(fake.calls('grantBundle') + fake.calls('revokeBundle'), 0);
});

test('bundle revoke without --permission takes every permission away', async () => {
  const all = await fake.run(['bundle', 'revoke', 'team-vault', '--domain', 'analytics', '--user', 'alice'], 0);
  assert.deepEqual(fake.last<RevokeBundleRequest>('revokeBundle').permissions, []);
  assert.deepEqual(all.stdoutLines, ['revoked VIEW, USE on bundle team-vault in domain analytics from user alice']);
  const one = await fake.run(
    ['bundle', 'revoke', 'team-vault', '--domain', 'analytics', '--user', 'alice', '--permission', 'use'],
    0,
  );
  assert.deepEqual(fake.last<RevokeBundleRequest>('revokeBundle').permissions, ['USE']);
  assert.deepEqual(one.stdoutLines, ['revoked USE on bundle team-vault in domain analytics from user alice']);
});
