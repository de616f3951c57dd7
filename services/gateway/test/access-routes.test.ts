import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { BundleGrant, ListAuditRequest, RevokeBundleRequest } from '@latchkey/proto';
import { fail, jwtLike, useFakeGateway, assertProblem, problemOf, injectAs } from './gateway-fixture.js';

const ALICE = `Bearer ${jwtLike('alice')}`;
const AT = '2026-01-01T00:00:00Z';

const grant = (bundle: string, kind: string, id: string, permission: string): BundleGrant => ({
  domain: 'analytics',
  bundle,
  grantee: { kind, id },
  permission,
  grantedAt: AT,
  grantedBy: 'olive',
});

const gw = useFakeGateway(() => ({
  ras: {
    listDomains: (_call, cb) => cb(null, { domains: [{ name: 'analytics', createdAt: AT, createdBy: 'admin' }] }),
    createDomain: (call, cb) => cb(null, { name: call.request.name, createdAt: AT, createdBy: 'admin' }),
    getDomain: (call, cb) => {
      if (call.request.name !== 'analytics') {
        fail(cb, status.PERMISSION_DENIED, 'ras.permission_denied', `alice may not view domain ${call.request.name}`);
        return;
      }
      cb(null, { name: 'analytics', createdAt: AT, createdBy: 'admin' });
    },
    listDomainMembers: (call, cb) =>
      cb(null, {
        members: [
          {
            domain: call.request.domain,
            grantee: { kind: 'user', id: 'olive' },
            role: 'owner',
            grantedAt: AT,
            grantedBy: 'admin',
          },
        ],
      }),
    grantDomainRole: (call, cb) =>
      cb(null, {
        grant: {
          domain: call.request.domain,
          grantee: call.request.grantee,
          role: call.request.role,
          grantedAt: AT,
          grantedBy: 'alice',
        },
        changed: true,
        previousRole: 'member',
      }),
    revokeDomainRole: (call, cb) =>
      cb(null, {
        revoked: {
          domain: call.request.domain,
          grantee: call.request.grantee,
          role: 'member',
          grantedAt: AT,
          grantedBy: 'alice',
        },
      }),
    listBundles: (call, cb) =>
      cb(null, { bundles: [{ domain: call.request.domain, name: 'b1', createdAt: AT, createdBy: 'olive' }] }),
    createBundle: (call, cb) =>
      cb(null, { domain: call.request.domain, name: call.request.name, createdAt: AT, createdBy: 'olive' }),
    getBundle: (call, cb) =>
      cb(null, { domain: call.request.domain, name: call.request.name, createdAt: AT, createdBy: 'olive' }),
    listBundleGrants: (call, cb) => cb(null, { grants: [grant(call.request.bundle, 'group', 'data-eng', 'USE')] }),
    grantBundle: (call, cb) =>
      cb(null, {
        granted: call.request.permissions.map((p) =>
          grant(call.request.bundle, call.request.grantee?.kind ?? '', call.request.grantee?.id ?? '', p),
        ),
      }),
    revokeBundle: (call, cb) =>
      cb(null, {
        revoked: (call.request.permissions.length > 0 ? call.request.permissions : ['VIEW', 'UPDATE', 'USE']).map((p) =>
          grant(call.request.bundle, call.request.grantee?.kind ?? '', call.request.grantee?.id ?? '', p),
        ),
      }),
    listAudit: (_call, cb) =>
      cb(null, {
        records: [
          {
            id: 'a1',
            at: AT,
            service: 'catalog',
            actor: 'alice',
            groups: ['data-eng'],
            action: 'secret.put',
            domain: 'analytics',
            resource: 'secret:analytics/DB_PASSWORD',
            outcome: 'allow',
            reason: '',
            requestId: 'r1',
          },
        ],
        nextPageToken: 'n2',
      }),
  },
}));

const inject = injectAs(gw, ALICE);

const lastRequest = () => gw.calls.at(-1)?.request;

test('domains: list, create (201), get, and a refusal keeps ras’s code and text', async () => {
  assert.deepEqual((await inject('GET', '/api/v1/domains')).json(), {
    domains: [{ name: 'analytics', createdAt: AT, createdBy: 'admin' }],
  });
  const created = await inject('POST', '/api/v1/domains', { name: 'finance' });
  assert.equal(created.statusCode, 201);
  assert.deepEqual(lastRequest(), { name: 'finance' });
  assert.equal((await inject('GET', '/api/v1/domains/analytics')).statusCode, 200);
  const refused = await inject('GET', '/api/v1/domains/finance');
  assertProblem(refused, 403, { code: 'ras.permission_denied', detail: 'alice may not view domain finance' });
});

test('members: list, grant a role to a user or group (PUT), revoke it (DELETE, ?role=)', async () => {
  const members = await inject('GET', '/api/v1/domains/analytics/members');
  assert.equal((members.json() as { members: { role: string }[] }).members[0]?.role, 'owner');
  const granted = await inject('PUT', '/api/v1/domains/analytics/members/group/data-eng', { role: 'maintainer' });
  assert.equal(granted.statusCode, 200);
  assert.deepEqual(lastRequest(), {
    domain: 'analytics',
    grantee: { kind: 'group', id: 'data-eng' },
    role: 'maintainer',
  });
  assert.deepEqual((granted.json() as { changed: boolean; previousRole: string }).previousRole, 'member');
  await inject('DELETE', '/api/v1/domains/analytics/members/user/bob?role=member');
  assert.deepEqual(lastRequest(), { domain: 'analytics', grantee: { kind: 'user', id: 'bob' }, role: 'member' });
  await inject('DELETE', '/api/v1/domains/analytics/members/user/bob');
  assert.deepEqual(lastRequest(), { domain: 'analytics', grantee: { kind: 'user', id: 'bob' }, role: '' });
});

test('bundles: list, create (201), show with grants, grant and revoke permissions', async () => {
  assert.equal(
    ((await inject('GET', '/api/v1/domains/analytics/bundles')).json() as { bundles: unknown[] }).bundles.length,
    1,
  );
  assert.equal((await inject('POST', '/api/v1/domains/analytics/bundles', { name: 'b2' })).statusCode, 201);
  const shown = await inject('GET', '/api/v1/domains/analytics/bundles/b1');
  assert.deepEqual(shown.json(), {
    bundle: { domain: 'analytics', name: 'b1', createdAt: AT, createdBy: 'olive' },
    grants: [grant('b1', 'group', 'data-eng', 'USE')],
  });
  const granted = await inject('PUT', '/api/v1/domains/analytics/bundles/b1/grants/user/alice', {
    permissions: ['VIEW', 'USE'],
  });
  assert.deepEqual(
    (granted.json() as { granted: BundleGrant[] }).granted.map((g) => g.permission),
    ['VIEW', 'USE'],
  );
  await inject('DELETE', '/api/v1/domains/analytics/bundles/b1/grants/user/alice?permission=USE,VIEW,USE');
  assert.deepEqual((lastRequest() as RevokeBundleRequest).permissions, ['USE', 'VIEW']);
  const all = await inject('DELETE', '/api/v1/domains/analytics/bundles/b1/grants/user/alice');
  assert.deepEqual((lastRequest() as RevokeBundleRequest).permissions, []);
  assert.equal((all.json() as { revoked: unknown[] }).revoked.length, 3);
});

test('bad role, grantee kind and permission are 400 naming where, and reach no service', async () => {
  const cases: [ReturnType<typeof inject>, { path: string; message: string }[]][] = [
    [
      inject('PUT', '/api/v1/domains/analytics/members/user/bob', { role: 'admin' }),
      [{ path: '$.role', message: 'must be one of owner, maintainer, member' }],
    ],
    [
      inject('PUT', '/api/v1/domains/analytics/members/robot/bob', { role: 'member' }),
      [{ path: 'path parameter kind', message: 'must be one of user, group' }],
    ],
    [
      inject('PUT', '/api/v1/domains/analytics/bundles/b1/grants/user/bob', { permissions: ['READ'] }),
      [{ path: '$.permissions[0]', message: 'must be one of VIEW, UPDATE, USE' }],
    ],
    [
      inject('PUT', '/api/v1/domains/analytics/bundles/b1/grants/user/bob', { permissions: [] }),
      [{ path: '$.permissions', message: 'must NOT have fewer than 1 items' }],
    ],
    [
      inject('DELETE', '/api/v1/domains/analytics/bundles/b1/grants/user/bob?permission=view'),
      [
        {
          path: 'query parameter permission',
          message: 'must match pattern "^(VIEW|UPDATE|USE)(,(VIEW|UPDATE|USE))*$"',
        },
      ],
    ],
    [inject('POST', '/api/v1/domains', {}), [{ path: '$.name', message: 'is required' }]],
  ];
  for (const [res, errors] of cases) {
    const r = await res;
    assert.equal(r.statusCode, 400, r.body);
    assert.deepEqual(problemOf(r).errors, errors);
  }
  assert.equal(gw.calls.length, 0);
});

test('audit passes the CLI’s filters and answers one page with its next token', async () => {
  const res = await inject('GET', '/api/v1/audit?domain=analytics&since=2026-01-01T00:00:00Z&actor=alice&limit=5');
  assert.equal(res.statusCode, 200);
  assert.deepEqual(lastRequest() as ListAuditRequest, {
    domain: 'analytics',
    since: '2026-01-01T00:00:00Z',
    actor: 'alice',
    limit: 5,
    pageToken: '',
  });
  const body = res.json() as { records: { action: string; groups: string[] }[]; nextPageToken: string };
  assert.deepEqual(
    [body.records[0]?.action, body.records[0]?.groups, body.nextPageToken],
    ['secret.put', ['data-eng'], 'n2'],
  );
  await inject('GET', '/api/v1/audit?pageToken=n2');
  assert.deepEqual(lastRequest(), { domain: '', since: '', actor: '', limit: 100, pageToken: 'n2' });
  const bad = await inject('GET', '/api/v1/audit?limit=5000');
  assert.deepEqual(problemOf(bad).errors, [{ path: 'query parameter limit', message: 'must be <= 1000' }]);
});
