import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventTypes, subjects } from '@latchkey/events';
import { RasAuthorizer, unary } from '@latchkey/grpc';
import { admin, person, service, startRas, type Ras, usePostgres, withAnalytics, rejects } from './ras-fixture.js';

const postgres = usePostgres();

const olive = person('olive');
const mia = person('mia');
const mark = person('mark');

const policyEvents = async (ras: Ras) =>
  (await ras.outbox()).filter((r) => {
    assert.equal(r.subject, 'latchkey.policy.changed');
    assert.equal(r.type, eventTypes.policyChanged);
    return true;
  });

test('granting a role stores it and writes latchkey.policy.changed in the same transaction', async (t) => {
  const ras = await startRas(t, postgres());
  assert.equal(subjects.policyChanged(), 'latchkey.policy.changed');
  await ras.domains.create(admin, 'analytics');
  const kicksBefore = ras.kicks();
  const r = await ras.grants.grant(admin, 'analytics', { kind: 'user', id: 'olive' }, 'owner');
  assert.equal(r.changed, true);
  assert.equal(r.previous, undefined);
  assert.equal(r.grant.role, 'owner');
  assert.equal(r.grant.grantedBy, 'admin');
  assert.deepEqual(r.grant.grantee, { kind: 'user', id: 'olive' });
  const events = await policyEvents(ras);
  assert.deepEqual(
    events.map((e) => e.data),
    [
      { change: 'domain.created', domain: 'analytics', by: 'admin' },
      {
        change: 'domain.granted',
        domain: 'analytics',
        grantee: { kind: 'user', id: 'olive' },
        role: 'owner',
        by: 'admin',
      },
    ],
  );
  assert.equal(ras.kicks(), kicksBefore + 1);
});

test('granting the role already held changes nothing and writes no event', async (t) => {
  const ras = await startRas(t, postgres());
  await withAnalytics(ras);
  const before = (await ras.outbox()).length;
  const r = await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'olive' }, 'owner');
  assert.equal(r.changed, false);
  assert.equal((await ras.outbox()).length, before);
});

test('a new role replaces the old one and the event says which it replaced', async (t) => {
  const ras = await startRas(t, postgres());
  await withAnalytics(ras);
  await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'mia' }, 'member');
  const r = await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'mia' }, 'maintainer');
  assert.equal(r.changed, true);
  assert.equal(r.previous, 'member');
  assert.equal(r.grant.grantedBy, 'olive');
  const members = await ras.grants.members(mia, 'analytics');
  assert.deepEqual(
    members.map((m) => [m.grantee.id, m.role]),
    [
      ['olive', 'owner'],
      ['mia', 'maintainer'],
    ],
  );
  const last = (await policyEvents(ras)).at(-1)?.data;
  assert.deepEqual(last, {
    change: 'domain.granted',
    domain: 'analytics',
    grantee: { kind: 'user', id: 'mia' },
    role: 'maintainer',
    previousRole: 'member',
    by: 'olive',
  });
});

test('revoking takes the role away with its event; --role guards against revoking the wrong one', async (t) => {
  const ras = await startRas(t, postgres());
  await withAnalytics(ras);
  await ras.grants.grant(olive, 'analytics', { kind: 'group', id: 'data-eng' }, 'maintainer');
  await rejects(
    ras.grants.revoke(olive, 'analytics', { kind: 'group', id: 'data-eng' }, 'member'),
    'grant.role_mismatch',
    /^group data-eng is maintainer in domain analytics, not member: revoke without --role, or with --role maintainer$/,
  );
  const revoked = await ras.grants.revoke(olive, 'analytics', { kind: 'group', id: 'data-eng' }, 'maintainer');
  assert.equal(revoked.role, 'maintainer');
  assert.deepEqual((await policyEvents(ras)).at(-1)?.data, {
    change: 'domain.revoked',
    domain: 'analytics',
    grantee: { kind: 'group', id: 'data-eng' },
    role: 'maintainer',
    by: 'olive',
  });
  const count = (await ras.outbox()).length;
  await rejects(
    ras.grants.revoke(olive, 'analytics', { kind: 'group', id: 'data-eng' }, ''),
    'grant.not_found',
    /^group data-eng holds no role in domain analytics: see who does with latchkey domain members analytics$/,
  );
  assert.equal((await ras.outbox()).length, count);
});

test('a grant that fails writes no event', async (t) => {
  const ras = await startRas(t, postgres());
  // Straight to the repository, past the policy: the domain does not exist, so the insert fails.
  await assert.rejects(ras.grantRepo.put('nowhere', { kind: 'user', id: 'mia' }, 'member', admin), /database error/);
  assert.deepEqual(await ras.outbox(), []);
  assert.equal(ras.kicks(), 0);
});

test('only platform admins and the domain owners manage grants', async (t) => {
  const ras = await startRas(t, postgres());
  await withAnalytics(ras);
  await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'mark' }, 'maintainer');
  await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'mia' }, 'member');
  for (const who of [mark, mia]) {
    await rejects(
      ras.grants.grant(who, 'analytics', { kind: 'user', id: who.id }, 'owner'),
      'ras.permission_denied',
      new RegExp(`^${who.id} may not grant.manage in domain analytics: it needs MANAGE_GRANTS, which owners hold`),
    );
    await rejects(ras.grants.revoke(who, 'analytics', { kind: 'user', id: 'olive' }, ''), 'ras.permission_denied');
  }
  await rejects(
    ras.grants.grant(service, 'analytics', { kind: 'user', id: 'x' }, 'member'),
    'auth.forbidden_caller',
    /only people change policy/,
  );
  // An owner makes another owner, who may then grant too.
  await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'oscar' }, 'owner');
  await ras.grants.grant(person('oscar'), 'analytics', { kind: 'user', id: 'mia' }, 'maintainer');
  // Platform admins by group.
  await ras.grants.grant(person('pat', ['platform']), 'analytics', { kind: 'user', id: 'mia' }, 'member');
});

test('bad grant requests name what is wrong', async (t) => {
  const ras = await startRas(t, postgres());
  await withAnalytics(ras);
  const user = { kind: 'user', id: 'mia' };
  // Thunks: each request is made when its turn comes.
  const cases: [() => Promise<unknown>, string, RegExp][] = [
    [
      () => ras.grants.grant(admin, 'analytics', user, 'admin'),
      'grant.invalid_role',
      /unknown role "admin": one of owner, maintainer, member/,
    ],
    [() => ras.grants.grant(admin, 'analytics', user, ''), 'grant.invalid_role', /no role given/],
    [
      () => ras.grants.grant(admin, 'analytics', undefined, 'member'),
      'grant.no_grantee',
      /name a user \(--user U\) or a group/,
    ],
    [
      () => ras.grants.grant(admin, 'analytics', { kind: 'team', id: 'x' }, 'member'),
      'grant.invalid_grantee_kind',
      /"team" is not one of user, group/,
    ],
    [
      () => ras.grants.grant(admin, 'analytics', { kind: 'user', id: 'service:catalog' }, 'member'),
      'grant.invalid_grantee',
      /invalid user "service:catalog"/,
    ],
    [
      () => ras.grants.grant(admin, 'Bad_Name', user, 'member'),
      'domain.invalid_name',
      /invalid domain name "Bad_Name"/,
    ],
    [
      () => ras.grants.grant(admin, 'global', user, 'member'),
      'domain.reserved',
      /"global" is the platform-wide scope, not a domain/,
    ],
    [
      () => ras.grants.grant(admin, 'nowhere', user, 'member'),
      'domain.not_found',
      /domain nowhere does not exist: create it with latchkey domain create nowhere/,
    ],
    [() => ras.grants.revoke(admin, 'analytics', user, 'boss'), 'grant.invalid_role', /unknown role "boss"/],
    [
      () => ras.bundles.grant(admin, 'analytics', 'b1', user, ['READ']),
      'grant.invalid_permission',
      /unknown bundle permission "READ": one of VIEW, UPDATE, USE/,
    ],
    [() => ras.bundles.grant(admin, 'analytics', 'b1', user, []), 'grant.no_permission', /no permission given/],
    [
      () => ras.bundles.grant(admin, 'analytics', 'no such', user, ['USE']),
      'bundle.invalid_name',
      /invalid bundle name "no such"/,
    ],
    [
      () => ras.bundles.grant(admin, 'analytics', 'ghost', user, ['USE']),
      'bundle.not_found',
      /bundle ghost not found in domain analytics: create it with latchkey bundle create ghost --domain analytics/,
    ],
  ];
  for (const [p, code, message] of cases) await rejects(p(), code, message);
  const count = (await ras.outbox()).length;
  assert.equal(count, 2);
});

test('members: anyone with a role in the domain sees them; owners first, then users before groups', async (t) => {
  const ras = await startRas(t, postgres());
  await withAnalytics(ras);
  await ras.grants.grant(olive, 'analytics', { kind: 'group', id: 'data-eng' }, 'member');
  await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'mia' }, 'member');
  await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'mark' }, 'maintainer');
  const seenBy = async (who: typeof mia) =>
    (await ras.grants.members(who, 'analytics')).map((m) => `${m.grantee.kind}:${m.grantee.id}=${m.role}`);
  const expected = ['user:olive=owner', 'user:mark=maintainer', 'user:mia=member', 'group:data-eng=member'];
  assert.deepEqual(await seenBy(mia), expected);
  assert.deepEqual(await seenBy(person('gina', ['data-eng'])), expected);
  assert.deepEqual(await seenBy(admin), expected);
  await rejects(ras.grants.members(person('fred'), 'analytics'), 'ras.permission_denied');
});

test('list domains: admins and services see all, others the domains where they hold a role', async (t) => {
  const ras = await startRas(t, postgres());
  await withAnalytics(ras);
  await ras.domains.create(admin, 'finance');
  await ras.domains.create(admin, 'ops');
  await ras.grants.grant(admin, 'ops', { kind: 'group', id: 'data-eng' }, 'member');
  const names = async (who: typeof admin) => (await ras.domains.list(who)).map((d) => d.name);
  assert.deepEqual(await names(admin), ['analytics', 'finance', 'ops']);
  assert.deepEqual(await names(service), ['analytics', 'finance', 'ops']);
  assert.deepEqual(await names(olive), ['analytics']);
  assert.deepEqual(await names(person('gina', ['data-eng'])), ['ops']);
  assert.deepEqual(await names(person('olive', ['data-eng'])), ['analytics', 'ops']);
  assert.deepEqual(await names(person('fred')), []);
  assert.equal((await ras.domains.get(olive, 'analytics')).name, 'analytics');
});

test('bundle grants: owners add, list and revoke them, each change with its event; repeats add nothing', async (t) => {
  const ras = await startRas(t, postgres());
  await withAnalytics(ras);
  await ras.bundles.create(olive, 'analytics', 'team-vault');
  assert.deepEqual((await ras.outbox()).at(-1)?.data, {
    change: 'bundle.created',
    domain: 'analytics',
    bundle: 'team-vault',
    by: 'olive',
  });
  const added = await ras.bundles.grant(olive, 'analytics', 'team-vault', { kind: 'user', id: 'mia' }, ['use', 'VIEW']);
  assert.deepEqual(
    added.map((g) => g.permission),
    ['VIEW', 'USE'],
  );
  assert.deepEqual((await ras.outbox()).at(-1)?.data, {
    change: 'bundle.granted',
    domain: 'analytics',
    bundle: 'team-vault',
    grantee: { kind: 'user', id: 'mia' },
    permissions: ['VIEW', 'USE'],
    by: 'olive',
  });
  const count = (await ras.outbox()).length;
  assert.deepEqual(await ras.bundles.grant(olive, 'analytics', 'team-vault', { kind: 'user', id: 'mia' }, ['USE']), []);
  assert.equal((await ras.outbox()).length, count);
  await ras.bundles.grant(admin, 'analytics', 'team-vault', { kind: 'group', id: 'data-eng' }, ['UPDATE']);

  const grants = await ras.bundles.grants(olive, 'analytics', 'team-vault');
  assert.deepEqual(
    grants.map((g) => `${g.grantee.kind}:${g.grantee.id}=${g.permission}`),
    ['user:mia=VIEW', 'user:mia=USE', 'group:data-eng=UPDATE'],
  );
  // VIEW (mia) and UPDATE (data-eng) holders see the grants too; holders of neither do not.
  assert.equal((await ras.bundles.grants(mia, 'analytics', 'team-vault')).length, 3);
  assert.equal((await ras.bundles.grants(person('gina', ['data-eng']), 'analytics', 'team-vault')).length, 3);
  await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'mark' }, 'maintainer');
  await rejects(ras.bundles.grants(mark, 'analytics', 'team-vault'), 'ras.permission_denied', /needs VIEW or UPDATE/);
  // Only owners and admins grant.
  await rejects(
    ras.bundles.grant(mark, 'analytics', 'team-vault', { kind: 'user', id: 'mark' }, ['USE']),
    'ras.permission_denied',
  );

  const revoked = await ras.bundles.revoke(olive, 'analytics', 'team-vault', { kind: 'user', id: 'mia' }, ['USE']);
  assert.deepEqual(
    revoked.map((g) => g.permission),
    ['USE'],
  );
  assert.deepEqual((await ras.outbox()).at(-1)?.data, {
    change: 'bundle.revoked',
    domain: 'analytics',
    bundle: 'team-vault',
    grantee: { kind: 'user', id: 'mia' },
    permissions: ['USE'],
    by: 'olive',
  });
  await rejects(
    ras.bundles.revoke(olive, 'analytics', 'team-vault', { kind: 'user', id: 'mia' }, ['USE']),
    'grant.not_found',
    /^user mia holds no USE grant on bundle team-vault in domain analytics: see the grants with latchkey bundle show team-vault --domain analytics$/,
  );
  // Without permissions: everything the grantee holds there.
  const all = await ras.bundles.revoke(olive, 'analytics', 'team-vault', { kind: 'group', id: 'data-eng' }, []);
  assert.deepEqual(
    all.map((g) => g.permission),
    ['UPDATE'],
  );
  assert.deepEqual(
    (await ras.bundles.grants(olive, 'analytics', 'team-vault')).map((g) => g.permission),
    ['VIEW'],
  );
});

test('only owners and platform admins create bundles; members list and read them', async (t) => {
  const ras = await startRas(t, postgres());
  await withAnalytics(ras);
  await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'mark' }, 'maintainer');
  await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'mia' }, 'member');
  await rejects(ras.bundles.create(mark, 'analytics', 'b1'), 'ras.permission_denied', /needs MANAGE_GRANTS/);
  await ras.bundles.create(olive, 'analytics', 'b1');
  await rejects(
    ras.bundles.create(admin, 'analytics', 'b1'),
    'bundle.exists',
    /bundle b1 already exists in domain analytics/,
  );
  assert.deepEqual(
    (await ras.bundles.list(mia, 'analytics')).map((b) => b.name),
    ['b1'],
  );
  assert.equal((await ras.bundles.get(mia, 'analytics', 'b1')).createdBy, 'olive');
  await rejects(ras.bundles.get(mia, 'analytics', 'b2'), 'bundle.not_found');
  assert.equal((await ras.bundles.get(service, 'analytics', 'b1')).name, 'b1');
  await rejects(ras.bundles.create(service, 'analytics', 'b3'), 'auth.forbidden_caller');
});

test('Check follows grants as they change, over gRPC, with groups and the global scope', async (t) => {
  const ras = await startRas(t, postgres());
  await withAnalytics(ras);
  await ras.bundles.create(olive, 'analytics', 'team-vault');
  const authorizer = new RasAuthorizer(ras.address, 'resolver-token');
  t.after(() => authorizer.close());
  const use = { principal: 'mia', action: 'secret.use', domain: 'analytics', resource: 'db_password' };
  assert.equal((await authorizer.check(use)).allowed, false);
  await ras.grants.grant(olive, 'analytics', { kind: 'user', id: 'mia' }, 'member');
  assert.equal((await authorizer.check(use)).allowed, true);
  assert.equal((await authorizer.check({ ...use, scope: 'global' })).allowed, true);
  assert.equal((await authorizer.check({ ...use, action: 'secret.manage', scope: 'global' })).allowed, false);
  assert.equal((await authorizer.check({ ...use, scope: 'finance' })).code, 'ras.cross_domain');
  await ras.grants.revoke(olive, 'analytics', { kind: 'user', id: 'mia' }, '');
  assert.equal((await authorizer.check(use)).allowed, false);

  await ras.grants.grant(olive, 'analytics', { kind: 'group', id: 'data-eng' }, 'member');
  await ras.bundles.grant(olive, 'analytics', 'team-vault', { kind: 'group', id: 'data-eng' }, ['USE']);
  const batch = await authorizer.checkBatch([
    { ...use, principal: 'gina', groups: ['data-eng'] },
    { ...use, principal: 'gina' },
    { principal: 'gina', groups: ['data-eng'], action: 'bundle.use', domain: 'analytics', resource: 'team-vault' },
    { principal: 'gina', groups: ['data-eng'], action: 'bundle.view', domain: 'analytics', resource: 'team-vault' },
    { principal: 'gina', groups: ['platform'], action: 'kek.rotate', domain: 'global' },
  ]);
  assert.deepEqual(
    batch.map((d) => d.allowed),
    [true, false, true, false, true],
  );

  // Check is for services: a person asking is refused.
  const asOlive = ras.client('olive-token');
  await rejects(
    unary(asOlive.check.bind(asOlive), { ...use, groups: [], scope: '', requestId: '' }),
    'auth.forbidden_caller',
  );
});
