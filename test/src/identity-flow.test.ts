import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@latchkey/testing';
import { startSystem } from './system-harness.js';
import { applyWorkload, computeWorkload, managedRef } from './workload-files.js';

test('login as alice: denied until her group is granted a role, then she reads and deploys with her group; admin always may', async (t) => {
  const sys = await startSystem();
  t.after(() => sys.cleanup());
  const ok = async (r: Promise<{ code: number; stdout: string; stderr: string }>, what: string) => {
    const res = await r;
    assert.equal(res.code, 0, `${what} failed: ${res.stderr}${res.stdout}`);
    return res;
  };

  // Without a login, the CLI is the bootstrap admin that latchkey up stored.
  const who = await ok(sys.cli(['whoami']), 'whoami');
  assert.match(who.stdout, /^user: admin\ngroups: \(none\)\nplatform admin: yes\n/);
  await ok(sys.cli(['domain', 'create', 'analytics']), 'domain create');
  await ok(sys.cli(['secret', 'put', 'db_password', '--domain', 'analytics'], 'warehouse-pw-1'), 'secret put');
  // An admin token to keep, before the stored identity becomes alice's.
  const adminToken = (await ok(sys.cli(['login', '--user', 'admin', '--print']), 'login admin')).stdout.trim();
  const admin = sys.cliAs(adminToken);

  const login = await ok(sys.cli(['login', '--user', 'alice', '--group', 'data-eng']), 'login alice');
  assert.match(login.stdout, /^logged in as alice \(groups data-eng\) until /);
  const alice = sys.cli;
  const aliceWho = await ok(alice(['whoami', '--json']), 'whoami alice');
  const me = JSON.parse(aliceWho.stdout) as { principal: string; groups: string[]; platformAdmin: boolean };
  assert.deepEqual([me.principal, me.groups, me.platformAdmin], ['alice', ['data-eng'], false]);

  // alice has no role in analytics: refused, with ras's code; admin may.
  const denied = await alice(['secret', 'list', '--domain', 'analytics']);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /\(ras\.permission_denied\)/);
  assert.doesNotMatch(denied.stderr, /db_password/);
  assert.match((await ok(admin(['secret', 'list', '--domain', 'analytics']), 'admin list')).stdout, /db_password/);
  const notAdmin = await alice(['domain', 'create', 'finance']);
  assert.equal(notAdmin.code, 1);
  assert.match(notAdmin.stderr, /permission_denied/);

  // A workload alice will deploy; its reference is checked for her when she deploys.
  const report = computeWorkload('report', { DB_PASSWORD: managedRef('db_password', 'analytics') });
  await applyWorkload((args) => ok(admin(args), 'apply'), sys.home, 'analytics', report);

  // Her group becomes member of analytics: she may list, and deploy with the group's USE_SECRETS.
  await ok(admin(['domain', 'grant', 'analytics', '--group', 'data-eng', '--role', 'member']), 'grant');
  const listed = await waitFor(
    async () => {
      const r = await alice(['secret', 'list', '--domain', 'analytics']);
      return r.code === 0 ? r : undefined;
    },
    { what: "alice's group grant to take effect", timeoutMs: 10_000 },
  );
  assert.match(listed.stdout, /db_password/);
  const deployed = await alice(['deploy', 'report', '--domain', 'analytics', '--wait', '--json']);
  assert.equal(deployed.code, 0, `alice's deployment failed: ${deployed.stderr}${deployed.stdout}`);
  const d = JSON.parse(deployed.stdout) as { status: string; principal: string };
  assert.deepEqual([d.status, d.principal], ['deployed', 'alice']);
  // Still no platform admin.
  assert.equal((await alice(['domain', 'create', 'finance'])).code, 1);

  // A token the services did not issue is refused, with the reason and without the token.
  const bad = await sys.cliAs('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl')(['domain', 'list']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /\(auth\.unauthenticated\)/);
  assert.doesNotMatch(bad.stderr, /eyJzdWIiOiJhZG1pbiJ9/);
});
