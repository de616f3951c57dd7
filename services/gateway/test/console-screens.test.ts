// The web console's screens for issue 19 (a secret's versions, rollback,
// disable, recoverable delete and restore; a storage config's connection
// test) in headless Debian Chromium against the gateway in front of fake
// services: each screen asks the route it should, with what was typed, and
// shows what the API answered, refusals with their code and text. The bundle
// is the one scripts/build-console.mjs built (npm test builds it first). The
// same screens on the whole system: test/src/console-flow.test.ts.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test, type TestContext } from 'node:test';
import { status, type sendUnaryData } from '@grpc/grpc-js';
import { ensureChromiumBinary, isInfraError } from '@latchkey/embedded';
import {
  Workload,
  WorkloadTestResult,
  type DeleteSecretRequest,
  type RestoreSecretRequest,
  type RollbackSecretRequest,
  type SecretVersion,
  type SetSecretVersionStateRequest,
  type TestWorkloadRequest,
} from '@latchkey/proto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { fail, jwtLike, secretMeta, startFakeGateway, type FakeGateway } from './gateway-fixture.js';

const DELETED_UNTIL = '2026-02-08T00:00:00.000Z';

/** Version n of DB_PASSWORD as the fake catalog keeps it: 3 is current and held by analytics/etl. */
const kept = (n: number): SecretVersion => ({
  version: n,
  createdAt: `2026-01-0${n}T00:00:00Z`,
  createdBy: n === 3 ? 'bob' : 'alice',
  state: 'enabled',
  current: n === 3,
  heldBy: n === 3 ? ['analytics/etl'] : [],
  rolledBackFrom: 0,
  disabledAt: '',
  disabledBy: '',
});

let skip: string | undefined;
let browser: Browser | undefined;
let gw: FakeGateway | undefined;
let origin = '';
/** How the fake deployer answers the next connection tests, in order. */
let storageAnswers: ((cb: sendUnaryData<WorkloadTestResult>) => void)[] = [];

before(async () => {
  let executablePath: string | undefined;
  try {
    executablePath = await ensureChromiumBinary({ log: (line) => console.log(`chromium: ${line}`) });
  } catch (e) {
    if (!(isInfraError(e) && e.code === 'infra.binary_missing')) throw e;
    skip = `the browser tests need Chromium: ${e.message}`;
    return;
  }
  browser = await chromium.launch({ executablePath, headless: true });
  gw = await startFakeGateway();
  origin = await gw.app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await browser?.close();
  await gw?.close();
});

beforeEach(() => {
  if (gw === undefined) return;
  gw.calls.length = 0;
  storageAnswers = [];
  gw.set({
    ras: {
      whoAmI: (_call, cb) => cb(null, { principal: 'alice', platformAdmin: false, groups: [] }),
      listDomains: (_call, cb) => cb(null, { domains: [{ name: 'analytics', createdAt: '', createdBy: 'admin' }] }),
    },
    catalog: {
      listSecrets: (call, cb) =>
        cb(null, {
          secrets: call.request.deleted
            ? [
                secretMeta({ key: 'OLD_TOKEN', deletedAt: '2026-02-01T00:00:00.000Z', recoverUntil: DELETED_UNTIL }),
                secretMeta({ key: 'GONE', deletedAt: '2026-02-01T00:00:00.000Z', recoverUntil: DELETED_UNTIL }),
              ]
            : [secretMeta()],
        }),
      selector: (_call, cb) => cb(null, { entries: [], sources: [], nextPageToken: '' }),
      inventory: (_call, cb) => cb(null, { entries: [] }),
      listSecretVersions: (_call, cb) =>
        cb(null, { secret: secretMeta(), versions: [kept(3), kept(2), kept(1)], kept: 10, holdersKnown: true }),
      rollbackSecret: (call, cb) => {
        if (call.request.toVersion === 2) {
          fail(cb, status.FAILED_PRECONDITION, 'secret.version_disabled', 'version 2 of DB_PASSWORD is disabled');
          return;
        }
        cb(null, secretMeta({ version: 4 }));
      },
      setSecretVersionState: (call, cb) =>
        cb(null, {
          ...kept(call.request.version),
          state: call.request.disabled ? 'disabled' : 'enabled',
          disabledBy: 'alice',
        }),
      deleteSecret: (call, cb) =>
        cb(null, {
          deleted: secretMeta(),
          dependents: [],
          recoverUntil: call.request.recoveryDays === 0 ? '' : DELETED_UNTIL,
        }),
      restoreSecret: (call, cb) => {
        if (call.request.key === 'GONE') {
          fail(cb, status.NOT_FOUND, 'secret.not_found', 'secret GONE is not deleted in domain analytics');
          return;
        }
        cb(null, secretMeta({ key: call.request.key, version: 7 }));
      },
    },
    deployer: {
      listWorkloads: (_call, cb) =>
        cb(null, {
          workloads: [
            Workload.fromPartial({ domain: 'analytics', name: 'lake', kind: 'STORAGE_CONFIG', specJson: '{}' }),
            Workload.fromPartial({ domain: 'analytics', name: 'etl', kind: 'SPARK_JOB', specJson: '{}' }),
          ],
        }),
      testWorkload: (_call, cb) => {
        const next = storageAnswers.shift();
        if (next === undefined) throw new Error('an unexpected connection test');
        next(cb);
      },
    },
  });
});

/** Requests the fake `service` received for `method`, in order. */
const received = <T>(method: string): T[] =>
  (gw?.calls ?? []).filter((c) => c.method.endsWith(`/${method}`)).map((c) => c.request as T);

/**
 * A page signed in as alice with a bearer token (this gateway has no console
 * sessions), at `path`; closed after the test, which fails on any page error.
 */
async function open(t: TestContext, path: string): Promise<Page> {
  assert.ok(browser);
  const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${jwtLike('alice')}` } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  t.after(async () => {
    await context.close();
    assert.deepEqual(errors, [], 'no page error');
  });
  await page.goto(`${origin}${path}`);
  await page.getByTestId('principal').filter({ hasText: 'alice' }).waitFor();
  return page;
}

test("a secret's versions: holders and kept count, rollback only once confirmed, disable, and the API's refusal shown", async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const page = await open(t, '/console/analytics/secrets');
  await page.locator('tr[data-key="DB_PASSWORD"]').getByRole('button', { name: 'Versions', exact: true }).click();
  const panel = page.getByRole('region', { name: 'Versions of DB_PASSWORD' });
  const v3 = panel.locator('tr[data-version="3"]');
  await v3.waitFor();
  assert.match(await v3.innerText(), /3 \(current\)\s+\S.*\s+bob\s+enabled\s+analytics\/etl/);
  assert.match(await panel.locator('tr[data-version="1"]').innerText(), /alice\s+enabled\s+-/);
  assert.equal(
    await panel.getByTestId('kept').innerText(),
    '10 versions are kept per secret; older ones are destroyed.',
  );
  assert.equal(await v3.getByRole('button', { name: /Roll back/ }).count(), 0, 'no rollback to the current version');

  // Rollback asks first, saying a new version is made; nothing is sent before the confirmation.
  await panel.locator('tr[data-version="1"]').getByRole('button', { name: 'Roll back to 1' }).click();
  const confirm = panel.getByRole('dialog', { name: 'Roll back DB_PASSWORD' });
  assert.match(await confirm.innerText(), /makes a new version \(4\) with the value of version 1, copied inside/);
  assert.deepEqual(received('RollbackSecret'), []);
  await confirm.getByRole('button', { name: 'Roll back', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'now at version 4, with the value of version 1' }).waitFor();
  assert.deepEqual(
    received<RollbackSecretRequest>('RollbackSecret').map((r) => [r.scope?.domain, r.key, r.toVersion]),
    [['analytics', 'DB_PASSWORD', 1]],
  );

  // The catalog's refusal is shown with its code and its words.
  await panel.locator('tr[data-version="2"]').getByRole('button', { name: 'Roll back to 2' }).click();
  await confirm.getByRole('button', { name: 'Roll back', exact: true }).click();
  const problem = panel.locator('[data-code="secret.version_disabled"]');
  await problem.waitFor();
  assert.match(await problem.innerText(), /version 2 of DB_PASSWORD is disabled/);

  // Disable.
  await panel.locator('tr[data-version="2"]').getByRole('button', { name: 'Disable', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'Version 2 of DB_PASSWORD is disabled' }).waitFor();
  assert.deepEqual(
    received<SetSecretVersionStateRequest>('SetSecretVersionState').map((r) => [r.key, r.version, r.disabled]),
    [['DB_PASSWORD', 2, true]],
  );
});

test('delete asks for the recovery window (a bad one is refused before any call, 0 destroys now); the deleted list restores or shows why not', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const page = await open(t, '/console/analytics/secrets');
  const deleteOnce = async (days: string) => {
    await page.locator('tr[data-key="DB_PASSWORD"]').getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete DB_PASSWORD' });
    await dialog.getByText('No workload uses it.').waitFor();
    await dialog.getByLabel('Recovery window (days, 0 to 30)').fill(days);
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    return dialog;
  };
  const dialog = await deleteOnce('31');
  assert.match(
    await dialog.getByRole('alert').innerText(),
    /Recovery window "31": give a whole number of days from 0 to 30/,
  );
  assert.match(await dialog.innerText(), /restored, as it was, until its recovery window ends/);
  assert.deepEqual(received('DeleteSecret'), [], 'nothing sent');
  await dialog.getByLabel('Recovery window (days, 0 to 30)').fill('3');
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
  await page
    .getByRole('status')
    .filter({ hasText: 'Secret DB_PASSWORD deleted. It can be restored (Deleted secrets) until' })
    .waitFor();
  await deleteOnce('0');
  await page.getByRole('status').filter({ hasText: 'Its values were destroyed: it cannot be restored.' }).waitFor();
  assert.deepEqual(
    received<DeleteSecretRequest>('DeleteSecret').map((r) => [r.key, r.force, r.recoveryDays]),
    [
      ['DB_PASSWORD', false, 3],
      ['DB_PASSWORD', false, 0],
    ],
  );

  await page.getByRole('button', { name: 'Deleted secrets', exact: true }).click();
  const deleted = page.getByRole('table', { name: 'Deleted secrets' });
  const row = deleted.locator('tr[data-deleted-key="OLD_TOKEN"]');
  await row.waitFor();
  assert.equal(await row.locator('td[data-recover-until]').getAttribute('data-recover-until'), DELETED_UNTIL);
  await row.getByRole('button', { name: 'Restore' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: 'Secret OLD_TOKEN restored, as it was: version 7 is current again.' })
    .waitFor();
  await deleted.locator('tr[data-deleted-key="GONE"]').getByRole('button', { name: 'Restore' }).click();
  const problem = page.locator('[data-code="secret.not_found"]');
  await problem.waitFor();
  assert.match(await problem.innerText(), /secret GONE is not deleted in domain analytics/);
  assert.deepEqual(
    received<RestoreSecretRequest>('RestoreSecret').map((r) => [r.scope?.domain, r.key]),
    [
      ['analytics', 'OLD_TOKEN'],
      ['analytics', 'GONE'],
    ],
  );
});

test("a storage config is tested, not deployed: Test connection shows ok or the deployer's precise reason, and a refusal", async (t) => {
  if (skip !== undefined) return t.skip(skip);
  const page = await open(t, '/console/analytics/workloads');
  const lake = page.locator('tr[data-workload="lake"]');
  await lake.waitFor();
  const etl = page.locator('tr[data-workload="etl"]');
  assert.equal(await lake.getByRole('button', { name: 'Deploy', exact: true }).count(), 0);
  assert.equal(await etl.getByRole('button', { name: 'Test connection' }).count(), 0);

  const tried = {
    domain: 'analytics',
    workload: 'lake',
    endpoint: 'http://127.0.0.1:9000',
    region: 'eu-west-3',
    bucket: 'lake-raw',
  };
  storageAnswers = [
    (cb) =>
      cb(
        null,
        WorkloadTestResult.fromPartial({
          ...tried,
          ok: false,
          code: 'storage.bad_credentials',
          message: 'bad credentials: the access key id is not known (InvalidAccessKeyId)',
          httpStatus: 403,
          references: [{ key: 'lake_secret', sourceType: 'MANAGED', ok: true, scope: 'analytics', version: 2 }],
        }),
      ),
    (cb) => cb(null, WorkloadTestResult.fromPartial({ ...tried, ok: true, httpStatus: 200 })),
    (cb) => fail(cb, status.PERMISSION_DENIED, 'ras.permission_denied', 'alice may not workload.deploy in analytics'),
  ];
  const testButton = lake.getByRole('button', { name: 'Test connection' });
  await testButton.click();
  const outcome = page.locator('[data-output="test"] [data-outcome]');
  await outcome.waitFor();
  assert.equal(await outcome.getAttribute('data-outcome'), 'storage.bad_credentials');
  assert.equal(
    await outcome.innerText(),
    'Connection failed (storage.bad_credentials): bad credentials: the access key id is not known (InvalidAccessKeyId)',
  );
  const shown = await page.locator('[data-output="test"]').innerText();
  assert.match(
    shown,
    /Tried: endpoint http:\/\/127\.0\.0\.1:9000, region eu-west-3, bucket lake-raw\. Nothing was started\./,
  );
  assert.match(shown, /lake_secret \(MANAGED analytics\) ok, version 2/);

  await testButton.click();
  await page.locator('[data-output="test"] [data-outcome="ok"]').waitFor();
  assert.equal(await page.locator('[data-outcome="ok"]').innerText(), 'Connection OK (HTTP 200)');

  await testButton.click();
  const refused = page.locator('[data-code="ras.permission_denied"]');
  await refused.waitFor();
  assert.match(await refused.innerText(), /alice may not workload\.deploy in analytics/);
  assert.deepEqual(
    received<TestWorkloadRequest>('TestWorkload').map((r) => [r.domain, r.name]),
    [
      ['analytics', 'lake'],
      ['analytics', 'lake'],
      ['analytics', 'lake'],
    ],
  );
});
