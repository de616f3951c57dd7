import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatchkeyError } from '@latchkey/errors';
import { unary } from '@latchkey/grpc';
import type { RasServiceClient } from '@latchkey/proto';
import { admin, person, startRas, type Ras, usePostgres } from './ras-fixture.js';

const postgres = usePostgres();

/**
 * analytics: owner olive, bundle team-vault (no grants). finance: member mia.
 * fred holds nothing anywhere. `nowhere` does not exist.
 */
async function world(ras: Ras): Promise<void> {
  await ras.domains.create(admin, 'analytics');
  await ras.domains.create(admin, 'finance');
  await ras.grants.grant(admin, 'analytics', { kind: 'user', id: 'olive' }, 'owner');
  await ras.grants.grant(admin, 'finance', { kind: 'user', id: 'mia' }, 'member');
  await ras.bundles.create(admin, 'analytics', 'team-vault');
}

interface Outcome {
  kind: string;
  code: string;
  message: string;
}

/** What the caller sees: the answer's error, or `ok`. */
async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    await p;
    return { kind: 'ok', code: '', message: '' };
  } catch (err) {
    assert.ok(err instanceof LatchkeyError, String(err));
    return { kind: err.kind, code: err.code, message: err.message };
  }
}

/** Every RasService call that names a domain, as `c` asking about `domain`. */
function domainCalls(c: RasServiceClient, domain: string): Record<string, () => Promise<unknown>> {
  const grantee = { kind: 'user', id: 'someone' };
  return {
    getDomain: () => unary(c.getDomain.bind(c), { name: domain }),
    listDomainMembers: () => unary(c.listDomainMembers.bind(c), { domain }),
    grantDomainRole: () => unary(c.grantDomainRole.bind(c), { domain, grantee, role: 'member' }),
    revokeDomainRole: () => unary(c.revokeDomainRole.bind(c), { domain, grantee, role: '' }),
    listBundles: () => unary(c.listBundles.bind(c), { domain }),
    createBundle: () => unary(c.createBundle.bind(c), { domain, name: 'new-bundle' }),
    getBundle: () => unary(c.getBundle.bind(c), { domain, name: 'team-vault' }),
    listBundleGrants: () => unary(c.listBundleGrants.bind(c), { domain, bundle: 'team-vault' }),
    grantBundle: () => unary(c.grantBundle.bind(c), { domain, bundle: 'team-vault', grantee, permissions: ['USE'] }),
    revokeBundle: () => unary(c.revokeBundle.bind(c), { domain, bundle: 'team-vault', grantee, permissions: [] }),
    listAudit: () => unary(c.listAudit.bind(c), { domain, since: '', actor: '', limit: 0, pageToken: '' }),
  };
}

/** Same answer for an existing and a missing name, once the names are swapped in the message. */
function assertSame(existing: Outcome, missing: Outcome, from: string, to: string, what: string): void {
  assert.notEqual(existing.kind, 'ok', `${what} was allowed`);
  assert.deepEqual({ ...missing, message: missing.message.replaceAll(to, from) }, existing, what);
}

test('isolation: every domain RPC answers a stranger alike whether the domain exists or not', async (t) => {
  const ras = await startRas(t, postgres());
  await world(ras);
  // fred holds nothing; mia is a member of another domain.
  for (const token of ['fred-token', 'mia-token']) {
    const c = ras.client(token);
    const existing = domainCalls(c, 'analytics');
    const missing = domainCalls(c, 'nowhere');
    for (const [name, call] of Object.entries(existing)) {
      const a = await outcome(call());
      const b = await outcome(missing[name]?.() ?? Promise.resolve());
      assertSame(a, b, 'analytics', 'nowhere', `${token} ${name}`);
      assert.equal(a.kind, 'permission_denied', `${token} ${name}`);
      assert.equal(a.code, 'ras.permission_denied', `${token} ${name}`);
      assert.doesNotMatch(a.message, /exist|not found/, `${token} ${name}`);
    }
  }
  // Nothing changed on the way.
  assert.equal((await ras.outbox()).length, 5);
});

test('isolation: a stranger listing domains learns of none', async (t) => {
  const ras = await startRas(t, postgres());
  await world(ras);
  const fred = ras.client('fred-token');
  assert.deepEqual((await unary(fred.listDomains.bind(fred), {})).domains, []);
  const mia = ras.client('mia-token');
  assert.deepEqual(
    (await unary(mia.listDomains.bind(mia), {})).domains.map((d) => d.name),
    ['finance'],
  );
});

test('isolation: Check answers a stranger alike whether the domain exists or not', async (t) => {
  const ras = await startRas(t, postgres());
  await world(ras);
  const resolver = ras.client('resolver-token');
  const check = (principal: string, action: string, domain: string, resource = '', scope = '') =>
    outcome(
      unary(resolver.check.bind(resolver), {
        principal,
        action,
        domain,
        resource,
        groups: [],
        scope,
        requestId: '',
      }).then((d) => {
        if (d.allowed) return d;
        throw new LatchkeyError(d.code, d.reason, { kind: 'permission_denied' });
      }),
    );
  const actions: [string, string][] = [
    ['secret.list', ''],
    ['secret.use', 'db_password'],
    ['secret.manage', 'db_password'],
    ['workload.read', ''],
    ['workload.manage', ''],
    ['workload.deploy', 'etl'],
    ['vault.manage', ''],
    ['bundle.view', 'team-vault'],
    ['bundle.update', 'team-vault'],
    ['bundle.use', 'team-vault'],
  ];
  for (const principal of ['fred', 'mia']) {
    for (const [action, resource] of actions) {
      const a = await check(principal, action, 'analytics', resource);
      const b = await check(principal, action, 'nowhere', resource);
      assertSame(a, b, 'analytics', 'nowhere', `${principal} ${action}`);
      assert.equal(a.code, 'ras.permission_denied');
    }
    // Reading global secrets from a domain one has no role in: the same again.
    const a = await check(principal, 'secret.use', 'analytics', 'k', 'global');
    const b = await check(principal, 'secret.use', 'nowhere', 'k', 'global');
    assertSame(a, b, 'analytics', 'nowhere', `${principal} global read`);
  }
});

test('isolation: a missing bundle and one without a grant look alike to members and strangers', async (t) => {
  const ras = await startRas(t, postgres());
  await world(ras);
  await ras.grants.grant(admin, 'analytics', { kind: 'user', id: 'mia' }, 'member');
  const resolver = ras.client('resolver-token');
  for (const principal of ['mia', 'fred']) {
    for (const action of ['bundle.view', 'bundle.update', 'bundle.use']) {
      const ask = (bundle: string) =>
        unary(resolver.check.bind(resolver), {
          principal,
          action,
          domain: 'analytics',
          resource: bundle,
          groups: [],
          scope: '',
          requestId: '',
        });
      const a = await ask('team-vault');
      const b = await ask('ghost-bndl');
      assert.equal(a.allowed, false);
      assert.deepEqual({ ...b, reason: b.reason.replaceAll('ghost-bndl', 'team-vault') }, a, `${principal} ${action}`);
    }
  }
  // Over the RPC that shows a bundle's grants, too.
  const mia = ras.client('mia-token');
  const a = await outcome(unary(mia.listBundleGrants.bind(mia), { domain: 'analytics', bundle: 'team-vault' }));
  const b = await outcome(unary(mia.listBundleGrants.bind(mia), { domain: 'analytics', bundle: 'ghost-bndl' }));
  assertSame(a, b, 'team-vault', 'ghost-bndl', 'listBundleGrants');
});

test('platform admins, and only they, learn that a domain does not exist', async (t) => {
  const ras = await startRas(t, postgres());
  await world(ras);
  const c = ras.client('admin-token');
  const get = await outcome(unary(c.getDomain.bind(c), { name: 'nowhere' }));
  assert.deepEqual(get, {
    kind: 'not_found',
    code: 'domain.not_found',
    message: 'domain nowhere does not exist: create it with latchkey domain create nowhere',
  });
  for (const [name, call] of Object.entries(domainCalls(c, 'nowhere'))) {
    const o = await outcome(call());
    assert.equal(o.code, 'domain.not_found', name);
  }
  const resolver = ras.client('resolver-token');
  const d = await unary(resolver.check.bind(resolver), {
    principal: 'admin',
    action: 'secret.list',
    domain: 'nowhere',
    resource: '',
    groups: [],
    scope: '',
    requestId: '',
  });
  assert.equal(d.code, 'ras.domain_not_found');
  // A platform admin by group is told as well; gina's token carries the group data-eng, not platform.
  const gina = ras.client('gina-token');
  assert.equal((await outcome(unary(gina.getDomain.bind(gina), { name: 'nowhere' }))).code, 'ras.permission_denied');
});

test('groups on the identity count: a group member reaches what the group was granted', async (t) => {
  const ras = await startRas(t, postgres());
  await world(ras);
  const gina = ras.client('gina-token');
  assert.equal(
    (await outcome(unary(gina.listDomainMembers.bind(gina), { domain: 'analytics' }))).code,
    'ras.permission_denied',
  );
  await ras.grants.grant(person('olive'), 'analytics', { kind: 'group', id: 'data-eng' }, 'member');
  const members = await unary(gina.listDomainMembers.bind(gina), { domain: 'analytics' });
  assert.deepEqual(
    members.members.map((m) => `${m.grantee?.kind}:${m.grantee?.id}=${m.role}`),
    ['user:olive=owner', 'group:data-eng=member'],
  );
  const who = await unary(gina.whoAmI.bind(gina), {});
  assert.deepEqual(who, { principal: 'gina', platformAdmin: false, groups: ['data-eng'] });
});
