import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { DomainGrant, RevokeDomainRoleRequest } from '@latchkey/proto';
import { FAKE_TIME, fail, grantedBy, refusedFinance, useFakeServices } from '../../testing/fake-services.js';

const domainGrant = (domain: string, kind: string, id: string, role: string): DomainGrant => ({
  domain,
  grantee: { kind, id },
  role,
  ...grantedBy('admin'),
});
const fake = useFakeServices({
  ras: {
    grantDomainRole: (call, cb) => {
      const { domain, grantee, role } = call.request;
      if (refusedFinance(domain, cb)) return;
      const grant = domainGrant(domain, grantee?.kind ?? '', grantee?.id ?? '', role);
      if (grantee?.id === 'same') cb(null, { grant, changed: false, previousRole: '' });
      else cb(null, { grant, changed: true, previousRole: grantee?.id === 'alice' ? 'member' : '' });
    },
    revokeDomainRole: (call, cb) => {
      const { domain, grantee, role } = call.request;
      if (role === 'owner') {
        fail(
          cb,
          status.FAILED_PRECONDITION,
          'grant.role_mismatch',
          `${grantee?.kind ?? ''} ${grantee?.id ?? ''} is maintainer in domain ${domain}, not owner: revoke without --role, or with --role maintainer`,
        );
        return;
      }
      cb(null, { revoked: domainGrant(domain, grantee?.kind ?? '', grantee?.id ?? '', role || 'maintainer') });
    },
    listDomainMembers: (call, cb) => {
      if (refusedFinance(call.request.domain, cb)) return;
      const { domain } = call.request;
      const members = [
        domainGrant(domain, 'user', 'olive', 'owner'),
        domainGrant(domain, 'group', 'data-eng', 'member'),
      ];
      cb(null, { members: domain === 'empty' ? [] : members });
    },
  },
});

test('domain grant sends domain, grantee and role, and says what changed', async () => {
  const out = await fake.run(['domain', 'grant', 'analytics', '--user', 'alice', '--role', 'maintainer'], 0);
  assert.deepEqual(fake.last('grantDomainRole'), {
    domain: 'analytics',
    grantee: { kind: 'user', id: 'alice' },
    role: 'maintainer',
  });
  assert.deepEqual(out.stdoutLines, ['user alice is now maintainer in domain analytics (was member)']);
  const group = await fake.run(['domain', 'grant', 'analytics', '--group', 'data-eng', '--role', 'member'], 0);
  assert.deepEqual(group.stdoutLines, ['group data-eng is now member in domain analytics']);
  const same = await fake.run(['domain', 'grant', 'analytics', '--user', 'same', '--role', 'member'], 0);
  assert.deepEqual(same.stdoutLines, ['user same already is member in domain analytics: nothing changed']);
});

test('domain grant --json prints the response', async () => {
  const out = await fake.run(['domain', 'grant', 'analytics', '--user', 'bob', '--role', 'owner', '--json'], 0);
  assert.deepEqual(JSON.parse(out.stdoutLines.join('\n')), {
    grant: {
      domain: 'analytics',
      grantee: { kind: 'user', id: 'bob' },
      role: 'owner',
      grantedAt: FAKE_TIME,
      grantedBy: 'admin',
    },
    changed: true,
    previousRole: '',
  });
});

test('domain grant usage errors exit 2 and send nothing', async () => {
  const cases: [string[], RegExp][] = [
    [['domain', 'grant', 'analytics', '--role', 'member'], /--user USER or --group GROUP is required/],
    [
      ['domain', 'grant', 'analytics', '--user', 'a', '--group', 'g', '--role', 'member'],
      /either --user or --group, not both/,
    ],
    [['domain', 'grant', 'analytics', '--user', 'alice'], /--role is required: owner, maintainer, member/],
    [
      ['domain', 'grant', 'analytics', '--user', 'alice', '--role', 'admin'],
      /--role must be owner, maintainer, member, not "admin"/,
    ],
    [['domain', 'grant', '--user', 'alice', '--role', 'member'], /missing DOMAIN/],
    [['domain', 'grant', 'analytics', '--user=', '--role', 'member'], /--user needs a user id/],
  ];
  for (const [argv, message] of cases) {
    const out = await fake.run(argv, 2);
    assert.match(out.stderrLines[0] ?? '', message, argv.join(' '));
    assert.match(out.stderrLines.at(-1) ?? '', /^usage: latchkey domain grant DOMAIN \(--user USER \| --group GROUP\)/);
  }
  assert.equal(fake.calls('grantDomainRole'), 0);
});

test('domain revoke: --role is optional, and a mismatch is the service error', async () => {
  const out = await fake.run(['domain', 'revoke', 'analytics', '--group', 'data-eng'], 0);
  assert.deepEqual(fake.last('revokeDomainRole'), {
    domain: 'analytics',
    grantee: { kind: 'group', id: 'data-eng' },
    role: '',
  });
  assert.deepEqual(out.stdoutLines, ['group data-eng is no longer maintainer in domain analytics']);
  const withRole = await fake.run(
    ['domain', 'revoke', 'analytics', '--user', 'alice', '--role', 'member', '--json'],
    0,
  );
  assert.equal(fake.last<RevokeDomainRoleRequest>('revokeDomainRole').role, 'member');
  assert.equal((JSON.parse(withRole.stdoutLines.join('\n')) as { revoked: { role: string } }).revoked.role, 'member');
  const mismatch = await fake.run(['domain', 'revoke', 'analytics', '--user', 'mark', '--role', 'owner'], 1);
  assert.match(
    mismatch.stderrLines[0] ?? '',
    /is maintainer in domain analytics, not owner: .*\(grant\.role_mismatch\)$/,
  );
  const bad = await fake.run(['domain', 'revoke', 'analytics', '--user', 'mark', '--role', 'boss'], 2);
  assert.match(bad.stderrLines[0] ?? '', /--role must be owner, maintainer, member/);
});

test('domain members is a table, --json the response, and an empty domain says how to grant', async () => {
  const out = await fake.run(['domain', 'members', 'analytics'], 0);
  assert.deepEqual(fake.last('listDomainMembers'), { domain: 'analytics' });
  assert.match(out.stdoutLines[0] ?? '', /^KIND +NAME +ROLE +GRANTED +GRANTED_BY$/);
  assert.match(out.stdoutLines[1] ?? '', /^user +olive +owner +2025-01-01T00:00:00Z +admin$/);
  assert.match(out.stdoutLines[2] ?? '', /^group +data-eng +member +2025-01-01T00:00:00Z +admin$/);
  assert.equal(out.stdoutLines.length, 3);
  const json = await fake.run(['domain', 'members', 'analytics', '--json'], 0);
  const parsed = JSON.parse(json.stdoutLines.join('\n')) as { members: DomainGrant[] };
  assert.deepEqual(
    parsed.members.map((m) => [m.grantee?.kind, m.grantee?.id, m.role]),
    [
      ['user', 'olive', 'owner'],
      ['group', 'data-eng', 'member'],
    ],
  );
  const empty = await fake.run(['domain', 'members', 'empty'], 0);
  assert.deepEqual(empty.stdoutLines, [
    'no one holds a role in domain empty: grant one with latchkey domain grant empty --user USER --role ROLE',
  ]);
  const refused = await fake.run(['domain', 'members', 'finance'], 1);
  assert.match(refused.stderrLines[0] ?? '', /\(ras\.permission_denied\)$/);
  const missing = await fake.run(['domain', 'members'], 2);
  assert.match(missing.stderrLines[0] ?? '', /missing DOMAIN/);
});

test('a refusal from ras is printed with its code, exit 1', async () => {
  const out = await fake.run(['domain', 'grant', 'finance', '--user', 'alice', '--role', 'member'], 1);
  assert.deepEqual(out.stderrLines, [
    'latchkey: admin may not grant.manage in domain finance: admin holds no role there (ras.permission_denied)',
  ]);
});
