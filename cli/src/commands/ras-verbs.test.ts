import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { Metadata, Server, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  RasServiceService,
  type Bundle,
  type BundleGrant,
  type DomainGrant,
  type GrantBundleRequest,
  type GrantDomainRoleRequest,
  type RasServiceServer,
  type RevokeBundleRequest,
  type RevokeDomainRoleRequest,
} from '@latchkey/proto';
import { writeConnectionFile } from '../local-state/connection-file.js';
import { generateCredentials } from '../local-state/credentials-file.js';
import { writeIdentityFile } from '../local-state/identity-file.js';
import { fakeIo } from '../testing/fake-io.js';
import { fakeServerTls } from '../testing/fake-server-tls.js';
import { main } from '../main.js';

/** Every request the fake ras received, by method name. */
const seen = new Map<string, unknown[]>();
let home = '';
let server: Server;
const creds = generateCredentials();

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

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void;
function recording<Req, Res>(method: string, fn: Unary<Req, Res>): Unary<Req, Res> {
  return (call, cb) => {
    seen.set(method, [...(seen.get(method) ?? []), call.request]);
    fn(call, cb);
  };
}
const unimplemented: Unary<unknown, never> = (_call, cb) =>
  cb({ code: status.UNIMPLEMENTED, details: 'not in this fake' });

const AT = '2025-01-01T00:00:00Z';
const bundle = (domain: string, name: string): Bundle => ({ domain, name, createdAt: AT, createdBy: 'admin' });
const domainGrant = (domain: string, kind: string, id: string, role: string): DomainGrant => ({
  domain,
  grantee: { kind, id },
  role,
  grantedAt: AT,
  grantedBy: 'admin',
});
const bundleGrant = (bundleName: string, kind: string, id: string, permission: string): BundleGrant => ({
  domain: 'analytics',
  bundle: bundleName,
  grantee: { kind, id },
  permission,
  grantedAt: AT,
  grantedBy: 'olive',
});

const FAKE_CREDS = '-----BEGIN NATS USER JWT-----\nfake-jwt\n------END NATS USER JWT------\nSUFAKESEED\n';

/** Anything about `finance` is refused, as ras refuses a caller with no role there. */
function refusedFinance<T>(domain: string, cb: sendUnaryData<T>): boolean {
  if (domain !== 'finance') return false;
  fail(
    cb,
    status.PERMISSION_DENIED,
    'ras.permission_denied',
    'admin may not grant.manage in domain finance: admin holds no role there',
  );
  return true;
}

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'latchkey-ras-verbs-'));
  server = new Server();
  const ras: RasServiceServer = {
    createBundle: recording('createBundle', (call, cb) => cb(null, bundle(call.request.domain, call.request.name))),
    getBundle: recording('getBundle', (call, cb) => {
      if (call.request.name === 'ghost') {
        fail(cb, status.NOT_FOUND, 'bundle.not_found', 'bundle ghost not found in domain analytics');
        return;
      }
      cb(null, bundle(call.request.domain, call.request.name));
    }),
    listBundles: recording('listBundles', (call, cb) =>
      cb(null, { bundles: [bundle(call.request.domain, 'b1'), bundle(call.request.domain, 'b2')] }),
    ),
    grantBundle: recording<GrantBundleRequest, { granted: BundleGrant[] }>('grantBundle', (call, cb) => {
      const { bundle: b, grantee, permissions } = call.request;
      const granted = call.request.bundle === 'held' ? [] : permissions;
      cb(null, { granted: granted.map((p) => bundleGrant(b, grantee?.kind ?? '', grantee?.id ?? '', p)) });
    }),
    revokeBundle: recording<RevokeBundleRequest, { revoked: BundleGrant[] }>('revokeBundle', (call, cb) => {
      const { bundle: b, grantee, permissions } = call.request;
      const revoked = permissions.length > 0 ? permissions : ['VIEW', 'USE'];
      cb(null, { revoked: revoked.map((p) => bundleGrant(b, grantee?.kind ?? '', grantee?.id ?? '', p)) });
    }),
    listBundleGrants: recording('listBundleGrants', (call, cb) =>
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
    ),
    createDomain: unimplemented,
    getDomain: unimplemented,
    listDomains: unimplemented,
    grantDomainRole: recording<GrantDomainRoleRequest, { grant: DomainGrant; changed: boolean; previousRole: string }>(
      'grantDomainRole',
      (call, cb) => {
        const { domain, grantee, role } = call.request;
        if (refusedFinance(domain, cb)) return;
        const grant = domainGrant(domain, grantee?.kind ?? '', grantee?.id ?? '', role);
        if (grantee?.id === 'same') cb(null, { grant, changed: false, previousRole: '' });
        else cb(null, { grant, changed: true, previousRole: grantee?.id === 'alice' ? 'member' : '' });
      },
    ),
    revokeDomainRole: recording<RevokeDomainRoleRequest, { revoked: DomainGrant }>('revokeDomainRole', (call, cb) => {
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
    }),
    listDomainMembers: recording('listDomainMembers', (call, cb) => {
      if (refusedFinance(call.request.domain, cb)) return;
      cb(null, {
        members:
          call.request.domain === 'empty'
            ? []
            : [
                domainGrant(call.request.domain, 'user', 'olive', 'owner'),
                domainGrant(call.request.domain, 'group', 'data-eng', 'member'),
              ],
      });
    }),
    check: unimplemented,
    checkBatch: unimplemented,
    whoAmI: unimplemented,
    listAudit: unimplemented,
    mintEventCredentials: recording('mintEventCredentials', (call, cb) => {
      if (call.request.domains.some((d) => refusedFinance(d, cb))) return;
      cb(null, {
        creds: FAKE_CREDS,
        user: 'UFAKE',
        expiresAt: '2027-03-01T00:00:00.000Z',
        subjects: call.request.domains.map((d) => `latchkey.workload.stale.${d}`),
      });
    }),
  };
  server.addService(RasServiceService, ras);
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

const io = (): ReturnType<typeof fakeIo> => fakeIo({ env: { LATCHKEY_HOME: home } });

/** Runs the command line; asserts the exit code; returns what it printed. */
async function run(argv: string[], exitCode: number): Promise<ReturnType<typeof fakeIo>> {
  const out = io();
  assert.equal(await main(argv, out), exitCode, `${argv.join(' ')}: ${out.stderrLines.join('\n')}`);
  return out;
}

test('domain grant sends domain, grantee and role, and says what changed', async () => {
  const out = await run(['domain', 'grant', 'analytics', '--user', 'alice', '--role', 'maintainer'], 0);
  assert.deepEqual(last('grantDomainRole'), {
    domain: 'analytics',
    grantee: { kind: 'user', id: 'alice' },
    role: 'maintainer',
  });
  assert.deepEqual(out.stdoutLines, ['user alice is now maintainer in domain analytics (was member)']);
  const group = await run(['domain', 'grant', 'analytics', '--group', 'data-eng', '--role', 'member'], 0);
  assert.deepEqual(group.stdoutLines, ['group data-eng is now member in domain analytics']);
  const same = await run(['domain', 'grant', 'analytics', '--user', 'same', '--role', 'member'], 0);
  assert.deepEqual(same.stdoutLines, ['user same already is member in domain analytics: nothing changed']);
});

test('domain grant --json prints the response', async () => {
  const out = await run(['domain', 'grant', 'analytics', '--user', 'bob', '--role', 'owner', '--json'], 0);
  assert.deepEqual(JSON.parse(out.stdoutLines.join('\n')), {
    grant: {
      domain: 'analytics',
      grantee: { kind: 'user', id: 'bob' },
      role: 'owner',
      grantedAt: AT,
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
    const out = await run(argv, 2);
    assert.match(out.stderrLines[0] ?? '', message, argv.join(' '));
    assert.match(out.stderrLines.at(-1) ?? '', /^usage: latchkey domain grant DOMAIN \(--user USER \| --group GROUP\)/);
  }
  assert.equal(calls('grantDomainRole'), 0);
});

test('a refusal from ras is printed with its code, exit 1', async () => {
  const out = await run(['domain', 'grant', 'finance', '--user', 'alice', '--role', 'member'], 1);
  assert.deepEqual(out.stderrLines, [
    'latchkey: admin may not grant.manage in domain finance: admin holds no role there (ras.permission_denied)',
  ]);
});

test('domain revoke: --role is optional, and a mismatch is the service error', async () => {
  const out = await run(['domain', 'revoke', 'analytics', '--group', 'data-eng'], 0);
  assert.deepEqual(last('revokeDomainRole'), {
    domain: 'analytics',
    grantee: { kind: 'group', id: 'data-eng' },
    role: '',
  });
  assert.deepEqual(out.stdoutLines, ['group data-eng is no longer maintainer in domain analytics']);
  const withRole = await run(['domain', 'revoke', 'analytics', '--user', 'alice', '--role', 'member', '--json'], 0);
  assert.equal(last<RevokeDomainRoleRequest>('revokeDomainRole').role, 'member');
  assert.equal((JSON.parse(withRole.stdoutLines.join('\n')) as { revoked: { role: string } }).revoked.role, 'member');
  const mismatch = await run(['domain', 'revoke', 'analytics', '--user', 'mark', '--role', 'owner'], 1);
  assert.match(
    mismatch.stderrLines[0] ?? '',
    /is maintainer in domain analytics, not owner: .*\(grant\.role_mismatch\)$/,
  );
  const bad = await run(['domain', 'revoke', 'analytics', '--user', 'mark', '--role', 'boss'], 2);
  assert.match(bad.stderrLines[0] ?? '', /--role must be owner, maintainer, member/);
});

test('domain members is a table, --json the response, and an empty domain says how to grant', async () => {
  const out = await run(['domain', 'members', 'analytics'], 0);
  assert.deepEqual(last('listDomainMembers'), { domain: 'analytics' });
  assert.match(out.stdoutLines[0] ?? '', /^KIND +NAME +ROLE +GRANTED +GRANTED_BY$/);
  assert.match(out.stdoutLines[1] ?? '', /^user +olive +owner +2025-01-01T00:00:00Z +admin$/);
  assert.match(out.stdoutLines[2] ?? '', /^group +data-eng +member +2025-01-01T00:00:00Z +admin$/);
  assert.equal(out.stdoutLines.length, 3);
  const json = await run(['domain', 'members', 'analytics', '--json'], 0);
  const parsed = JSON.parse(json.stdoutLines.join('\n')) as { members: DomainGrant[] };
  assert.deepEqual(
    parsed.members.map((m) => [m.grantee?.kind, m.grantee?.id, m.role]),
    [
      ['user', 'olive', 'owner'],
      ['group', 'data-eng', 'member'],
    ],
  );
  const empty = await run(['domain', 'members', 'empty'], 0);
  assert.deepEqual(empty.stdoutLines, [
    'no one holds a role in domain empty: grant one with latchkey domain grant empty --user USER --role ROLE',
  ]);
  const refused = await run(['domain', 'members', 'finance'], 1);
  assert.match(refused.stderrLines[0] ?? '', /\(ras\.permission_denied\)$/);
  const missing = await run(['domain', 'members'], 2);
  assert.match(missing.stderrLines[0] ?? '', /missing DOMAIN/);
});

test('bundle create and list talk to ras', async () => {
  const create = await run(['bundle', 'create', 'b1', '--domain', 'analytics'], 0);
  assert.deepEqual(last('createBundle'), { domain: 'analytics', name: 'b1' });
  assert.deepEqual(create.stdoutLines, ['bundle b1 created in domain analytics']);
  const list = await run(['bundle', 'list', '--domain', 'analytics'], 0);
  assert.equal(list.stdoutLines.length, 3);
  assert.match(list.stdoutLines[2] ?? '', /^b2 +2025-01-01T00:00:00Z +admin$/);
  const missing = await run(['bundle', 'create', 'b1'], 2);
  assert.match(missing.stderrLines[0] ?? '', /--domain is required/);
});

test('bundle show lists the grants, one line per grantee', async () => {
  const out = await run(['bundle', 'show', 'team-vault', '--domain', 'analytics'], 0);
  assert.deepEqual(last('getBundle'), { domain: 'analytics', name: 'team-vault' });
  assert.deepEqual(last('listBundleGrants'), { domain: 'analytics', bundle: 'team-vault' });
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
  const empty = await run(['bundle', 'show', 'empty', '--domain', 'analytics'], 0);
  assert.equal(
    empty.stdoutLines.at(-1),
    'grants:      none (grant with latchkey bundle grant empty --domain analytics --user USER --permission USE)',
  );
});

test('bundle show --json is the bundle with its grants; a missing bundle is the service error', async () => {
  const out = await run(['bundle', 'show', 'team-vault', '--domain', 'analytics', '--json'], 0);
  const json = JSON.parse(out.stdoutLines.join('\n')) as Record<string, unknown> & { grants: BundleGrant[] };
  assert.equal(json['name'], 'team-vault');
  assert.equal(json['createdBy'], 'admin');
  assert.deepEqual(
    json.grants.map((g) => `${g.grantee?.kind ?? ''}:${g.grantee?.id ?? ''}=${g.permission}`),
    ['user:alice=VIEW', 'user:alice=USE', 'group:data-eng=USE'],
  );
  const missing = await run(['bundle', 'show', 'ghost', '--domain', 'analytics'], 1);
  assert.deepEqual(missing.stderrLines, ['latchkey: bundle ghost not found in domain analytics (bundle.not_found)']);
  assert.equal(calls('listBundleGrants'), 1);
});

test('bundle grant takes comma-separated permissions in any case and says what was granted', async () => {
  const out = await run(
    ['bundle', 'grant', 'team-vault', '--domain', 'analytics', '--group', 'data-eng', '--permission', 'view, use'],
    0,
  );
  assert.deepEqual(last('grantBundle'), {
    domain: 'analytics',
    bundle: 'team-vault',
    grantee: { kind: 'group', id: 'data-eng' },
    permissions: ['VIEW', 'USE'],
  });
  assert.deepEqual(out.stdoutLines, ['granted VIEW, USE on bundle team-vault in domain analytics to group data-eng']);
  const held = await run(
    ['bundle', 'grant', 'held', '--domain', 'analytics', '--user', 'bob', '--permission', 'USE'],
    0,
  );
  assert.deepEqual(held.stdoutLines, ['user bob already holds USE on bundle held: nothing changed']);
  const json = await run(
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
    const out = await run(argv, 2);
    assert.match(out.stderrLines[0] ?? '', message, argv.join(' '));
  }
  assert.equal(calls('grantBundle') + calls('revokeBundle'), 0);
});

test('bundle revoke without --permission takes every permission away', async () => {
  const all = await run(['bundle', 'revoke', 'team-vault', '--domain', 'analytics', '--user', 'alice'], 0);
  assert.deepEqual(last<RevokeBundleRequest>('revokeBundle').permissions, []);
  assert.deepEqual(all.stdoutLines, ['revoked VIEW, USE on bundle team-vault in domain analytics from user alice']);
  const one = await run(
    ['bundle', 'revoke', 'team-vault', '--domain', 'analytics', '--user', 'alice', '--permission', 'use'],
    0,
  );
  assert.deepEqual(last<RevokeBundleRequest>('revokeBundle').permissions, ['USE']);
  assert.deepEqual(one.stdoutLines, ['revoked USE on bundle team-vault in domain analytics from user alice']);
});

test('--help lists the grant verbs', async () => {
  const out = fakeIo();
  assert.equal(await main(['--help'], out), 0);
  const text = out.stdoutLines.join('\n');
  for (const verb of [
    'domain grant',
    'domain revoke',
    'domain members',
    'bundle grant',
    'bundle revoke',
    'bundle show',
  ])
    assert.match(text, new RegExp(`^  ${verb} `, 'm'));
  const group = fakeIo();
  assert.equal(await main(['domain', '--help'], group), 0);
  assert.equal(group.stdoutLines.length, 5);
});

test('events credentials writes the credentials to a new 0600 file and never prints them', async () => {
  const file = path.join(home, `hook-${process.hrtime.bigint()}.creds`);
  const out = await run(
    [
      'events',
      'credentials',
      '--domain',
      'analytics',
      '--domain',
      'ml',
      '--name',
      'hook',
      '--out',
      file,
      '--days',
      '7',
    ],
    0,
  );
  assert.deepEqual(last('mintEventCredentials'), { domains: ['analytics', 'ml'], name: 'hook', ttlDays: 7 });
  assert.equal(await readFile(file, 'utf8'), FAKE_CREDS);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const printed = out.stdoutLines.join('\n') + out.stderrLines.join('\n');
  assert.ok(!printed.includes('SUFAKESEED') && !printed.includes('fake-jwt'), printed);
  assert.match(printed, /latchkey\.workload\.stale\.analytics/);
  // An existing file is never written over.
  const again = await run(['events', 'credentials', '--domain', 'analytics', '--name', 'hook', '--out', file], 1);
  assert.match(again.stderrLines.join('\n'), /exists: choose another --out/);
});

test('events credentials: a refusal from ras writes no file; usage errors send nothing', async () => {
  const file = path.join(home, `refused-${process.hrtime.bigint()}.creds`);
  const refused = await run(['events', 'credentials', '--domain', 'finance', '--name', 'hook', '--out', file], 1);
  assert.match(refused.stderrLines.join('\n'), /ras\.permission_denied/);
  await assert.rejects(stat(file), /ENOENT/);
  const noDomain = await run(['events', 'credentials', '--name', 'hook', '--out', file], 2);
  assert.match(noDomain.stderrLines.join('\n'), /--domain is required/);
  const badDays = await run(['events', 'credentials', '--domain', 'a', '--name', 'h', '--out', file, '--days', '0'], 2);
  assert.match(badDays.stderrLines.join('\n'), /--days must be a whole number/);
});
