import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccessPolicy, type CheckInput, type Decision, type PolicyFacts } from './access-policy.js';
import type { BundlePermission, Role } from './permission-model.js';
import { memoFacts } from './policy-facts.js';

interface Holder {
  kind: 'user' | 'group';
  id: string;
}

/** PolicyFacts over plain arrays; counts the lookups. */
class MemoryFacts implements PolicyFacts {
  readonly domains = new Set<string>();
  readonly roles: { domain: string; who: Holder; role: Role }[] = [];
  readonly bundles = new Set<string>();
  readonly bundleGrants: { domain: string; bundle: string; who: Holder; permission: BundlePermission }[] = [];
  lookups = 0;

  private static matches(who: Holder, principal: string, groups: readonly string[]): boolean {
    return who.kind === 'user' ? who.id === principal : groups.includes(who.id);
  }

  async domainExists(domain: string): Promise<boolean> {
    this.lookups++;
    return this.domains.has(domain);
  }

  async rolesOf(domain: string, principal: string, groups: readonly string[]): Promise<Role[]> {
    this.lookups++;
    return this.roles
      .filter((r) => r.domain === domain && MemoryFacts.matches(r.who, principal, groups))
      .map((r) => r.role);
  }

  async bundleAccess(domain: string, bundle: string, principal: string, groups: readonly string[]) {
    this.lookups++;
    return {
      exists: this.bundles.has(`${domain}/${bundle}`),
      permissions: this.bundleGrants
        .filter((g) => g.domain === domain && g.bundle === bundle && MemoryFacts.matches(g.who, principal, groups))
        .map((g) => g.permission),
    };
  }
}

const user = (id: string): Holder => ({ kind: 'user', id });
const group = (id: string): Holder => ({ kind: 'group', id });

/**
 * analytics: owner olive, maintainer mark, member mia, group data-eng member;
 *   bundle team-vault: USE to mia, VIEW to vic (no role), USE to group vault-users.
 * finance: owner fred. Platform admins: admin, group platform.
 */
function world(): { policy: AccessPolicy; facts: MemoryFacts } {
  const facts = new MemoryFacts();
  facts.domains.add('analytics');
  facts.domains.add('finance');
  facts.roles.push(
    { domain: 'analytics', who: user('olive'), role: 'owner' },
    { domain: 'analytics', who: user('mark'), role: 'maintainer' },
    { domain: 'analytics', who: user('mia'), role: 'member' },
    { domain: 'analytics', who: group('data-eng'), role: 'member' },
    { domain: 'finance', who: user('fred'), role: 'owner' },
  );
  facts.bundles.add('analytics/team-vault');
  facts.bundles.add('analytics/other');
  facts.bundleGrants.push(
    { domain: 'analytics', bundle: 'team-vault', who: user('mia'), permission: 'USE' },
    { domain: 'analytics', bundle: 'team-vault', who: user('vic'), permission: 'VIEW' },
    { domain: 'analytics', bundle: 'team-vault', who: group('vault-users'), permission: 'USE' },
    { domain: 'analytics', bundle: 'team-vault', who: user('uma'), permission: 'UPDATE' },
  );
  const policy = new AccessPolicy({ facts, admins: { users: new Set(['admin']), groups: new Set(['platform']) } });
  return { policy, facts };
}

function ask(
  policy: AccessPolicy,
  principal: string,
  action: string,
  domain: string,
  extra: Partial<CheckInput> = {},
): Promise<Decision> {
  return policy.decide({ principal, groups: [], action, domain, scope: '', resource: '', ...extra });
}

async function allowed(
  policy: AccessPolicy,
  principal: string,
  action: string,
  domain: string,
  extra?: Partial<CheckInput>,
) {
  return (await ask(policy, principal, action, domain, extra)).allowed;
}

test('the decision table: each role against each domain action in its own domain', async () => {
  const { policy } = world();
  const expected: Record<string, Record<string, boolean>> = {
    'secret.list': { olive: true, mark: true, mia: true, fred: false },
    'secret.use': { olive: true, mark: true, mia: true, fred: false },
    'secret.manage': { olive: true, mark: true, mia: false, fred: false },
    'workload.read': { olive: true, mark: true, mia: true, fred: false },
    'workload.manage': { olive: true, mark: true, mia: true, fred: false },
    'workload.deploy': { olive: true, mark: true, mia: true, fred: false },
    'vault.manage': { olive: true, mark: false, mia: false, fred: false },
    'domain.read': { olive: true, mark: true, mia: true, fred: false },
    'grant.manage': { olive: true, mark: false, mia: false, fred: false },
  };
  for (const [action, byPrincipal] of Object.entries(expected)) {
    for (const [principal, want] of Object.entries(byPrincipal)) {
      assert.equal(await allowed(policy, principal, action, 'analytics'), want, `${principal} ${action}`);
    }
    assert.equal(await allowed(policy, 'admin', action, 'analytics'), true, `admin ${action}`);
  }
});

test('seed rule: only owners and platform admins create Vault integrations (vault.manage); maintainers and members do not', async () => {
  const { policy } = world();
  assert.equal(await allowed(policy, 'olive', 'vault.manage', 'analytics'), true);
  assert.equal(await allowed(policy, 'admin', 'vault.manage', 'analytics'), true);
  assert.equal(await allowed(policy, 'someone', 'vault.manage', 'analytics', { groups: ['platform'] }), true);
  const maintainer = await ask(policy, 'mark', 'vault.manage', 'analytics');
  assert.equal(maintainer.allowed, false);
  assert.equal(maintainer.code, 'ras.permission_denied');
  assert.equal(
    maintainer.reason,
    'mark may not vault.manage in domain analytics: it needs MANAGE_VAULT, which owners hold; mark is maintainer there',
  );
  assert.equal(await allowed(policy, 'mia', 'vault.manage', 'analytics'), false);
  // An owner of another domain is nobody here.
  assert.equal(await allowed(policy, 'fred', 'vault.manage', 'analytics'), false);
});

test('seed rule: global secrets are read-only to domains: read from a domain with its permission, changed by platform admins only', async () => {
  const { policy } = world();
  const fromAnalytics = { scope: 'global' };
  // Reading (listing, referencing) global secrets from a domain needs that permission in the domain.
  assert.equal(await allowed(policy, 'mia', 'secret.use', 'analytics', fromAnalytics), true);
  assert.equal(await allowed(policy, 'mia', 'secret.list', 'analytics', fromAnalytics), true);
  assert.equal(await allowed(policy, 'fred', 'secret.use', 'analytics', fromAnalytics), false);
  assert.equal(await allowed(policy, 'fred', 'secret.use', 'finance', fromAnalytics), true);
  assert.equal(await allowed(policy, 'nobody', 'secret.list', 'analytics', fromAnalytics), false);
  // Changing them is for platform admins, whatever the domain one asks from.
  for (const q of [
    { domain: 'analytics', scope: 'global' },
    { domain: 'global', scope: '' },
  ]) {
    const owner = await ask(policy, 'olive', 'secret.manage', q.domain, { scope: q.scope });
    assert.equal(owner.allowed, false, JSON.stringify(q));
    assert.match(owner.reason, /global secrets are managed by platform admins/);
    assert.equal(await allowed(policy, 'admin', 'secret.manage', q.domain, { scope: q.scope }), true);
  }
  // Without a domain to read from, global scope is the platform admins'.
  assert.equal(await allowed(policy, 'olive', 'secret.list', 'global'), false);
  assert.equal(await allowed(policy, 'admin', 'secret.list', 'global'), true);
});

test('USE on a bundle is needed to use its keys: VIEW is not USE, and a group grant counts', async () => {
  const { policy } = world();
  const on = (bundle: string) => ({ resource: bundle });
  assert.equal(await allowed(policy, 'mia', 'bundle.use', 'analytics', on('team-vault')), true);
  assert.equal(await allowed(policy, 'mia', 'bundle.use', 'analytics', on('other')), false);
  assert.equal(await allowed(policy, 'mark', 'bundle.use', 'analytics', on('team-vault')), false);
  assert.equal(await allowed(policy, 'vic', 'bundle.use', 'analytics', on('team-vault')), false);
  assert.equal(await allowed(policy, 'vic', 'bundle.view', 'analytics', on('team-vault')), true);
  assert.equal(
    await allowed(policy, 'gina', 'bundle.use', 'analytics', { ...on('team-vault'), groups: ['vault-users'] }),
    true,
  );
  // UPDATE implies VIEW, not USE.
  assert.equal(await allowed(policy, 'uma', 'bundle.update', 'analytics', on('team-vault')), true);
  assert.equal(await allowed(policy, 'uma', 'bundle.view', 'analytics', on('team-vault')), true);
  assert.equal(await allowed(policy, 'uma', 'bundle.use', 'analytics', on('team-vault')), false);
  // The domain's owners and platform admins manage their bundles.
  for (const action of ['bundle.view', 'bundle.update', 'bundle.use']) {
    assert.equal(await allowed(policy, 'olive', action, 'analytics', on('team-vault')), true, action);
    assert.equal(await allowed(policy, 'admin', action, 'analytics', on('team-vault')), true, action);
  }
  const denied = await ask(policy, 'mark', 'bundle.use', 'analytics', on('team-vault'));
  assert.equal(denied.code, 'ras.permission_denied');
  assert.match(
    denied.reason,
    /needs USE on the bundle; a domain owner can grant it \(latchkey bundle grant team-vault/,
  );
});

test('listing Vault keys in the selector needs USE on the bundle and LIST_SECRETS on the domain', async () => {
  const { policy } = world();
  // gina holds USE through a group but no role in the domain: half of what the selector needs.
  const gina = { groups: ['vault-users'] };
  assert.equal(await allowed(policy, 'gina', 'bundle.use', 'analytics', { ...gina, resource: 'team-vault' }), true);
  assert.equal(await allowed(policy, 'gina', 'secret.list', 'analytics', gina), false);
  // mark lists the domain's secrets but holds no USE: the other half.
  assert.equal(await allowed(policy, 'mark', 'secret.list', 'analytics'), true);
  assert.equal(await allowed(policy, 'mark', 'bundle.use', 'analytics', { resource: 'team-vault' }), false);
  // mia holds both.
  assert.equal(await allowed(policy, 'mia', 'secret.list', 'analytics'), true);
  assert.equal(await allowed(policy, 'mia', 'bundle.use', 'analytics', { resource: 'team-vault' }), true);
});

test('isolation: without a role, a missing domain and an existing one get the same code and words', async () => {
  const { policy } = world();
  for (const action of ['secret.list', 'secret.use', 'secret.manage', 'workload.read', 'vault.manage', 'domain.read']) {
    const existing = await ask(policy, 'fred', action, 'analytics');
    const missing = await ask(policy, 'fred', action, 'nowhere');
    assert.equal(existing.allowed, false);
    assert.deepEqual({ ...missing, reason: missing.reason.replaceAll('nowhere', 'analytics') }, existing, action);
    assert.equal(existing.code, 'ras.permission_denied');
  }
  const r = await ask(policy, 'fred', 'secret.list', 'nowhere');
  assert.equal(
    r.reason,
    'fred may not secret.list in domain nowhere: fred holds no role there; a domain owner or a platform admin can grant one (latchkey domain grant nowhere --user fred --role member)',
  );
});

test('isolation: a missing bundle and one without a grant look alike to anyone but owners and admins', async () => {
  const { policy } = world();
  for (const [principal, domain] of [
    ['fred', 'analytics'],
    ['mark', 'analytics'],
    ['vic', 'analytics'],
    ['fred', 'nowhere'],
  ] as const) {
    const existing = await ask(policy, principal, 'bundle.use', domain, { resource: 'other' });
    const missing = await ask(policy, principal, 'bundle.use', domain, { resource: 'ghost' });
    assert.equal(existing.allowed, false);
    assert.deepEqual({ ...missing, reason: missing.reason.replaceAll('ghost', 'other') }, existing, principal);
  }
  // No role and no grant: the same answer as for a domain that does not exist.
  const noRole = await ask(policy, 'fred', 'bundle.use', 'analytics', { resource: 'other' });
  const noDomain = await ask(policy, 'fred', 'bundle.use', 'nowhere', { resource: 'other' });
  assert.equal(noRole.reason.replaceAll('analytics', 'nowhere'), noDomain.reason);
  // Owners and admins are told.
  for (const principal of ['olive', 'admin']) {
    const d = await ask(policy, principal, 'bundle.use', 'analytics', { resource: 'ghost' });
    assert.equal(d.code, 'ras.bundle_not_found', principal);
    assert.match(d.reason, /bundle ghost not found in domain analytics: create it with latchkey bundle create ghost/);
  }
});

test('platform admins may do everything in existing domains, and alone learn that a domain does not exist', async () => {
  const { policy } = world();
  const d = await ask(policy, 'admin', 'secret.list', 'nowhere');
  assert.deepEqual(d, {
    allowed: false,
    code: 'ras.domain_not_found',
    reason: 'domain nowhere does not exist: create it with latchkey domain create nowhere',
  });
  assert.equal((await ask(policy, 'admin', 'bundle.use', 'nowhere', { resource: 'b' })).code, 'ras.domain_not_found');
  assert.equal(
    (await ask(policy, 'anyone', 'secret.list', 'nowhere', { groups: ['platform'] })).code,
    'ras.domain_not_found',
  );
  assert.equal(await allowed(policy, 'admin', 'workload.deploy', 'finance'), true);
});

test('what only a domain has (workloads, integrations, roles, its audit) is refused in global scope, to platform admins too', async () => {
  const { policy } = world();
  const actions = [
    'workload.read',
    'workload.manage',
    'workload.deploy',
    'vault.manage',
    'domain.read',
    'grant.manage',
    'audit.read',
  ];
  for (const action of actions) {
    for (const [principal, domain, scope] of [
      ['admin', 'global', ''],
      ['olive', 'global', ''],
      ['admin', 'analytics', 'global'],
    ] as const) {
      assert.deepEqual(
        await ask(policy, principal, action, domain, { scope }),
        {
          allowed: false,
          code: 'domain.reserved',
          reason: `${action} has no meaning in global scope: "global" is the platform-wide scope, not a domain (it has no workloads, Vault integrations, roles or audit of its own)`,
        },
        `${principal} ${action} ${domain}/${scope}`,
      );
    }
  }
  // Secrets do live there: platform admins manage them.
  assert.equal(await allowed(policy, 'admin', 'secret.manage', 'global'), true);
});

test('domain.create and kek.rotate are for platform admins, whatever the domain', async () => {
  const { policy } = world();
  for (const action of ['domain.create', 'kek.rotate']) {
    assert.equal(await allowed(policy, 'admin', action, ''), true);
    assert.equal(await allowed(policy, 'admin', action, 'global'), true);
    const owner = await ask(policy, 'olive', action, 'analytics');
    assert.deepEqual(owner, {
      allowed: false,
      code: 'ras.permission_denied',
      reason: `olive may not ${action}: only platform admins may`,
    });
  }
});

test('no check reaches from one domain into another, not even for platform admins', async () => {
  const { policy } = world();
  for (const principal of ['admin', 'olive']) {
    const d = await ask(policy, principal, 'secret.use', 'analytics', { scope: 'finance' });
    assert.equal(d.allowed, false);
    assert.equal(d.code, 'ras.cross_domain');
    assert.match(d.reason, /a domain reaches only its own secrets and global ones/);
  }
  // Naming the domain itself as scope is the same as naming none.
  assert.equal(await allowed(policy, 'mia', 'secret.use', 'analytics', { scope: 'analytics' }), true);
});

test('a grant to a group counts for its members; a user of the same name is someone else', async () => {
  const { policy } = world();
  assert.equal(await allowed(policy, 'dee', 'secret.use', 'analytics', { groups: ['data-eng'] }), true);
  assert.equal(await allowed(policy, 'dee', 'secret.manage', 'analytics', { groups: ['data-eng'] }), false);
  assert.equal(await allowed(policy, 'data-eng', 'secret.use', 'analytics'), false);
  assert.equal(await allowed(policy, 'platform', 'secret.use', 'analytics'), false);
});

test('bad checks are answered with what is wrong, never allowed', async () => {
  const { policy } = world();
  const unknown = await ask(policy, 'admin', 'secret.read', 'analytics');
  assert.equal(unknown.code, 'ras.unknown_action');
  assert.match(
    unknown.reason,
    /unknown action "secret.read": one of audit.read, audit.read_all, bundle.update, bundle.use, bundle.view/,
  );
  const noDomain = await ask(policy, 'admin', 'secret.list', '');
  assert.equal(noDomain.code, 'ras.invalid_check');
  assert.match(noDomain.reason, /names no domain/);
  const badDomain = await ask(policy, 'mia', 'secret.list', 'Not_A_Domain');
  assert.equal(badDomain.code, 'ras.invalid_check');
  assert.match(badDomain.reason, /invalid domain name "Not_A_Domain"/);
  const noBundle = await ask(policy, 'admin', 'bundle.use', 'analytics');
  assert.equal(noBundle.code, 'ras.invalid_check');
  assert.match(noBundle.reason, /names no bundle/);
  const globalBundle = await ask(policy, 'admin', 'bundle.use', 'analytics', { scope: 'global', resource: 'b' });
  assert.equal(globalBundle.code, 'ras.invalid_check');
  const long = await ask(policy, 'fred', 'secret.list', 'a'.repeat(63));
  assert.equal(long.code, 'ras.permission_denied');
});

test('a batch asks each distinct fact once', async () => {
  const { policy, facts } = world();
  const memo = memoFacts(facts);
  const qs = ['a', 'b', 'c', 'd'].map((key) => ({
    principal: 'mia',
    groups: ['x', 'y'],
    action: 'secret.use',
    domain: 'analytics',
    scope: '',
    resource: key,
  }));
  const before = facts.lookups;
  const decisions = await Promise.all(qs.map((q) => policy.decide(q, memo)));
  assert.ok(decisions.every((d) => d.allowed));
  assert.equal(facts.lookups - before, 1);
});
