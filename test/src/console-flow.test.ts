import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startS3Emulator, startVaultEmulator, type VaultEmulator } from '@latchkey/testing';
import type { Browser, Page } from 'playwright-core';
import { assertNowhere } from './canary-scan.js';
import {
  assertNotInBrowser,
  buildConsole,
  consoleOrigin,
  launchChromium,
  openContext,
  screenshot,
  signIn,
  type Watched,
} from './console-harness.js';
import { recordedCli } from './recorded-cli.js';
import { startSystem, type RunningSystem } from './system-harness.js';
import { sha, STAY_UP, workloadScript } from './workload-files.js';

// Issue 15 §2 in headless Chromium against the real embedded system (one
// system, one Vault emulator and one browser for the file): an admin of
// analytics creates a secret, connects a Vault, creates a Spark job picking
// both in the secret picker, deploys, rotates, sees it stale, redeploys; a
// user of another domain sees none of it. Issue 19 on the same system: a
// secret's versions, rollback, disable, a delete with its recovery window
// and the restore; a storage config made in the editor and its connection
// test against the S3 emulator. Every test scans the DOM, every response and
// the browser's storage for the planted values.

const hex = () => randomBytes(12).toString('hex');
const canary = {
  apiKey: `console-api-${hex()}`,
  apiKey2: `console-api2-${hex()}`,
  inline: `console-inline-${hex()}`,
  vaultValue: `console-vault-${hex()}`,
  global: `console-global-${hex()}`,
  roll1: `console-roll1-${hex()}`,
  roll2: `console-roll2-${hex()}`,
  s3Secret: `console-s3-${hex()}`,
};
// Names another domain must never learn.
const KEY = `ledger_api_key_${hex().slice(0, 6)}`;
const INLINE_KEY = `ledger_s3_secret_${hex().slice(0, 6)}`;
const VAULT_NAME = `ledger-vault-${hex().slice(0, 6)}`;
const JOB = `ledger-nightly-${hex().slice(0, 6)}`;
const ROLL_KEY = `ledger_signing_key_${hex().slice(0, 6)}`;
const LAKE = `ledger-lake-${hex().slice(0, 6)}`;

let skip: string | undefined;
let browser: Browser | undefined;
let vault: VaultEmulator | undefined;
let sys: RunningSystem | undefined;
let origin = '';
let vaultToken = '';
const cliOutputs: { stdout: string; stderr: string }[] = [];

before(async () => {
  buildConsole();
  const launched = await launchChromium();
  if ('skip' in launched) {
    skip = launched.skip;
    console.log(`skipping the console's browser tests: ${skip}`);
    return;
  }
  browser = launched;
  vault = await startVaultEmulator();
  sys = await startSystem({
    // The Vault emulator listens on loopback, which integrations may use only when allowed.
    env: { LATCHKEY_VAULT_ALLOWED_HOSTS: '127.0.0.1' },
  });
  origin = consoleOrigin(sys);
  const { ok, outputs } = recordedCli(sys);
  await ok(['domain', 'create', 'analytics']);
  await ok(['domain', 'create', 'finance']);
  await ok(['bundle', 'create', 'ledger-bundle', '--domain', 'analytics']);
  await ok(['domain', 'grant', 'finance', '--user', 'mallory', '--role', 'owner']);
  vaultToken = await vault.addToken(['secret/data/team', 'secret/metadata/team']);
  await vault.putSecret('secret', 'team/db_password', { value: canary.vaultValue });
  cliOutputs.push(...outputs);
});

after(async () => {
  await browser?.close();
  await sys?.cleanup();
  await vault?.stop();
});

/**
 * A fresh browser context signed in as `user`, screenshotted as `last` after
 * the test (where it stopped, for review when it fails).
 */
async function signedIn(t: TestContext, user: string, last: string): Promise<Watched> {
  assert.ok(browser && sys, 'the system and the browser are up');
  const watched = await openContext(browser);
  t.after(() => screenshot(watched, last).then(() => undefined));
  await signIn(sys, watched, user);
  return watched;
}

/** The page of the console for `domain`. */
const goTo = async (page: Page, domain: string, name: string) => {
  await page.goto(`${origin}/console/${domain}/${name}`);
  await page.locator('h2').first().waitFor();
};

test('an admin creates a secret, connects a Vault, builds a Spark job with the picker, deploys, rotates, sees it stale and redeploys; no value reaches the browser', async (t) => {
  if (skip !== undefined || !browser || !sys || !vault) return t.skip(skip);
  const admin = await signedIn(t, 'admin', 'console-last-admin');
  const { page } = admin;

  // The document is served with a strict CSP, and its scripts are files.
  const doc = await page.goto(`${origin}/console/analytics/secrets`);
  const csp = doc?.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.doesNotMatch(await page.content(), /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');

  // Domain Secrets: create; the value is never shown again.
  await page.getByRole('button', { name: 'New domain secret', exact: true }).click();
  await page.getByLabel('Secret key').fill(KEY);
  await page.getByTestId('secret-value').fill(canary.apiKey);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'will never be shown again' }).waitFor();
  const row = page.locator(`tr[data-key="${KEY}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /managed/);
  assert.match(await row.innerText(), /\b1\b/);
  assert.match(await row.innerText(), /admin/);
  await screenshot(admin, 'console-domain-secrets');

  // Vault Integrations: Test connection tells a wrong token apart, then succeeds; then create.
  await goTo(page, 'analytics', 'vault');
  await page.getByRole('button', { name: '+ New Vault' }).click();
  await page.getByLabel('Name', { exact: true }).fill(VAULT_NAME);
  await page.getByLabel('Resource bundle').selectOption('ledger-bundle');
  await page.getByLabel('Host').fill(vault.url);
  await page.getByLabel('Path (KV v2, with /data/)').fill('/v1/secret/data/team');
  await page.getByLabel('Token', { exact: true }).fill('hvs.not-a-valid-token');
  await page.getByRole('button', { name: 'Test connection' }).click();
  const failed = page.locator('[data-outcome]');
  await failed.waitFor();
  assert.equal(await failed.getAttribute('data-outcome'), 'bad_credentials');
  assert.match(await failed.innerText(), /Connection failed \(bad_credentials\): \S/);
  await page.getByLabel('Token', { exact: true }).fill(vaultToken);
  await page.getByRole('button', { name: 'Test connection' }).click();
  await page.locator('[data-outcome="ok"]').waitFor();
  assert.match(await page.locator('[data-outcome="ok"]').innerText(), /Connection OK: 1 key/);
  await screenshot(admin, 'console-vault-test-connection');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.locator(`tr[data-name="${VAULT_NAME}"]`).waitFor();
  await page.getByRole('button', { name: VAULT_NAME }).click();
  const details = await page.getByLabel(`Vault ${VAULT_NAME}`).innerText();
  assert.match(details, /ledger-bundle/);
  assert.match(details, /\/v1\/secret\/data\/team/);
  await screenshot(admin, 'console-vault-integrations');

  // Workloads: a Spark job whose env vars are picked (managed and Vault) and whose
  // Spark conf gets a secret created inline, saved to the domain.
  await goTo(page, 'analytics', 'workloads');
  await page.getByRole('button', { name: 'New workload', exact: true }).click();
  await page.getByLabel('Kind').selectOption('SPARK_JOB');
  await page.getByLabel('Name', { exact: true }).fill(JOB);
  const editor = page.getByRole('form', { name: 'Workload editor' });
  await editor.getByLabel('Environment variables name 1').fill('API_KEY');
  await editor.getByRole('button', { name: 'More options for API_KEY' }).click();
  await editor.getByRole('menuitem', { name: 'Use existing secret' }).click();
  const existing = editor.getByLabel('Existing secret for API_KEY');
  const options = await existing.locator('option').allInnerTexts();
  assert.ok(options.includes(`${KEY} — analytics (managed)`), options.join('\n'));
  assert.ok(options.includes(`db_password — Vault: ${VAULT_NAME}`), options.join('\n'));
  await existing.selectOption({ label: `${KEY} — analytics (managed)` });
  await editor.getByRole('button', { name: 'Use', exact: true }).click();
  await editor.getByRole('button', { name: '+ Add variable' }).click();
  await editor.getByLabel('Environment variables name 2').fill('DB_PASSWORD');
  await editor.getByRole('button', { name: 'More options for DB_PASSWORD' }).click();
  await editor.getByRole('menuitem', { name: 'Use existing secret' }).click();
  await editor
    .getByLabel('Existing secret for DB_PASSWORD')
    .selectOption({ label: `db_password — Vault: ${VAULT_NAME}` });
  await editor.getByRole('button', { name: 'Use', exact: true }).click();
  await editor.getByRole('button', { name: '+ Add setting' }).click();
  await editor.getByLabel('Spark configuration name 1').fill('spark.hadoop.fs.s3a.secret.key');
  await editor.getByRole('button', { name: 'More options for spark.hadoop.fs.s3a.secret.key' }).click();
  await editor.getByRole('menuitem', { name: 'Create new secret' }).click();
  await editor.getByLabel('New secret key').fill(INLINE_KEY);
  await editor.getByLabel('New secret value').fill(canary.inline);
  await editor.getByRole('button', { name: 'Save to analytics' }).click();
  const chips = editor.getByTestId('secret-ref');
  await chips.nth(2).waitFor();
  const picked = await chips.allInnerTexts();
  assert.equal(picked.length, 3, picked.join('\n'));
  assert.ok(picked[0]?.includes(`${KEY} · analytics (managed)`), picked[0]);
  assert.ok(picked[1]?.includes(`db_password · Vault: ${VAULT_NAME}`), picked[1]);
  assert.ok(picked[2]?.includes(`${INLINE_KEY} · analytics (managed)`), picked[2]);
  const script = workloadScript(
    "console.log('api', h(process.env.API_KEY));",
    "console.log('vault', h(process.env.DB_PASSWORD));",
    "console.log('echo', process.env.API_KEY);",
    STAY_UP,
  );
  await editor.getByLabel('Command (one argument per line)').fill([process.execPath, '-e', script].join('\n'));
  await screenshot(admin, 'console-workload-editor');
  await editor.getByRole('button', { name: 'Create', exact: true }).click();
  const job = page.locator(`tr[data-workload="${JOB}"]`);
  await job.waitFor();
  assert.match(await job.innerText(), /Spark job/);

  // The inline secret was saved to the domain, as a managed secret of analytics.
  const listed = await recordedCli(sys).ok(['secret', 'list', '--domain', 'analytics', '--json']);
  cliOutputs.push(listed);
  assert.match(listed.stdout, new RegExp(INLINE_KEY));

  // Dry run, then deploy: the values reach the workload, its output is redacted.
  await job.getByRole('button', { name: 'Dry run', exact: true }).click();
  const plan = await page.locator('[data-output="plan"]').innerText();
  assert.match(plan, /Every reference would resolve/);
  await job.getByRole('button', { name: 'Deploy', exact: true }).click();
  await page.locator(`tr[data-workload="${JOB}"][data-status="deployed"]`).waitFor({ timeout: 60_000 });
  let logs = '';
  for (const deadline = Date.now() + 30_000; !logs.includes('echo') && Date.now() < deadline;) {
    await job.getByRole('button', { name: 'Logs', exact: true }).click();
    logs = await page.getByTestId('logs').innerText();
  }
  assert.ok(logs.includes(`api ${sha(canary.apiKey)}`), logs);
  assert.ok(logs.includes(`vault ${sha(canary.vaultValue)}`), logs);
  assert.ok(logs.includes('echo [REDACTED]'), logs);
  await screenshot(admin, 'console-workloads-deployed');

  // Rotate in the console: a new version, and the job is stale (not restarted) with what changed.
  await goTo(page, 'analytics', 'secrets');
  await page.locator(`tr[data-key="${KEY}"]`).getByRole('button', { name: 'New version', exact: true }).click();
  await page.getByLabel('New value').fill(canary.apiKey2);
  await page.getByRole('button', { name: 'Save new version', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'version 2' }).waitFor();
  await goTo(page, 'analytics', 'workloads');
  const stale = page.locator(`tr[data-workload="${JOB}"][data-stale="true"]`);
  await stale.waitFor({ timeout: 30_000 });
  const badge = await stale.getByTestId('stale-badge').innerText();
  assert.match(badge, new RegExp(`${KEY}.*v1 → v2`));
  assert.equal(await stale.getAttribute('data-status'), 'deployed', 'a rotation restarts nothing');
  await screenshot(admin, 'console-workloads-stale');

  // Redeploy: the new deployment receives version 2 and the badge is gone.
  await stale.getByRole('button', { name: 'Redeploy', exact: true }).click();
  await page
    .locator(`tr[data-workload="${JOB}"][data-stale="false"][data-status="deployed"]`)
    .waitFor({ timeout: 60_000 });
  for (const deadline = Date.now() + 30_000; !logs.includes(sha(canary.apiKey2)) && Date.now() < deadline;) {
    await job.getByRole('button', { name: 'Logs', exact: true }).click();
    logs = await page.getByTestId('logs').innerText();
  }
  assert.ok(logs.includes(`api ${sha(canary.apiKey2)}`), logs);

  // Edit shows the stored spec's references as picked (the round trip of the editor).
  await job.getByRole('button', { name: 'Edit', exact: true }).click();
  // The editor names a Vault reference's integration once the selector has answered (the id until then).
  const refs = page.getByRole('form', { name: 'Workload editor' }).getByTestId('secret-ref');
  let again = await refs.allInnerTexts();
  for (
    const deadline = Date.now() + 30_000;
    !again.some((c) => c.includes(`Vault: ${VAULT_NAME}`)) && Date.now() < deadline;
  ) {
    await page.waitForTimeout(100);
    again = await refs.allInnerTexts();
  }
  assert.equal(again.length, 3, again.join('\n'));
  assert.ok(
    again.some((c) => c.includes(`db_password · Vault: ${VAULT_NAME}`)),
    again.join('\n'),
  );
  await page.getByRole('button', { name: 'Cancel', exact: true }).click();

  // Delete: the dialog lists the workload using it; the refusal names it; forcing needs a confirmation.
  await goTo(page, 'analytics', 'secrets');
  await page.locator(`tr[data-key="${INLINE_KEY}"]`).getByRole('button', { name: 'Delete', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Delete ${INLINE_KEY}` });
  await dialog.getByText(/Used by \d+ workload/).waitFor();
  assert.match(await dialog.innerText(), new RegExp(`Used by 1 workload\\(s\\):\\s*analytics/${JOB}`));
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
  await dialog.locator('[data-code="secret.in_use"]').waitFor();
  const force = dialog.getByRole('button', { name: 'Delete anyway' });
  assert.equal(await force.isDisabled(), true, 'a forced delete waits for the confirmation');
  await screenshot(admin, 'console-delete-in-use');
  await dialog.getByRole('checkbox').check();
  await force.click();
  await page
    .getByRole('status')
    .filter({ hasText: `Secret ${INLINE_KEY} deleted` })
    .waitFor();
  // And the list, reloaded, no longer has it.
  await page.locator(`tr[data-key="${INLINE_KEY}"]`).waitFor({ state: 'detached' });

  // Global Secrets: editable by a platform admin.
  await goTo(page, 'analytics', 'global');
  await page.getByRole('button', { name: 'New global secret', exact: true }).click();
  await page.getByLabel('Secret key').fill('platform_smtp_password');
  await page.getByTestId('secret-value').fill(canary.global);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.locator('tr[data-key="platform_smtp_password"]').waitFor();

  // Inventory and audit.
  await goTo(page, 'analytics', 'inventory');
  await page.getByRole('table', { name: 'Inventory' }).getByText(KEY).waitFor();
  await screenshot(admin, 'console-inventory');
  await goTo(page, 'analytics', 'audit');
  await page.getByRole('table', { name: 'Audit' }).getByText('secret.put').first().waitFor();
  await screenshot(admin, 'console-audit');

  assert.deepEqual(admin.problems, [], 'no CSP violation or page error');
  const seen = await assertNotInBrowser(admin, [...Object.values(canary), vaultToken]);
  assert.ok(seen > 30, `the scan saw the console's traffic (${seen} responses)`);
  await assertNowhere(sys, [...Object.values(canary), vaultToken], cliOutputs);
});

test('a user of another domain sees none of it: not in the domain switcher, not by URL, not in the picker', async (t) => {
  if (skip !== undefined || !browser || !sys) return t.skip(skip);
  const mallory = await signedIn(t, 'mallory', 'console-last-other-domain');
  const { page } = mallory;

  const domains = await page.getByLabel('Domain').locator('option').allInnerTexts();
  assert.deepEqual(domains, ['finance']);
  await goTo(page, 'finance', 'secrets');
  await page.getByRole('table', { name: 'Secrets' }).waitFor();

  // By URL: refused with ras's code, the same as for a domain that does not exist.
  for (const name of ['secrets', 'vault', 'workloads', 'inventory', 'audit']) {
    const shown: string[] = [];
    for (const domain of ['analytics', 'no-such-domain']) {
      await goTo(page, domain, name);
      const problem = page.locator('[data-code]').first();
      await problem.waitFor();
      assert.equal(await problem.getAttribute('data-code'), 'ras.permission_denied', `${domain}/${name}`);
      shown.push((await problem.innerText()).replaceAll(domain, 'D'));
    }
    assert.equal(shown[0], shown[1], `${name}: the same words for an existing and a missing domain`);
  }
  await screenshot(mallory, 'console-other-domain-denied');

  // The picker of her own domain lists none of analytics' keys.
  await goTo(page, 'finance', 'workloads');
  await page.getByRole('button', { name: 'New workload', exact: true }).click();
  const editor = page.getByRole('form', { name: 'Workload editor' });
  await editor.getByRole('button', { name: /More options for/ }).click();
  await editor.getByRole('menuitem', { name: 'Use existing secret' }).click();
  const options = await editor
    .getByRole('combobox', { name: /Existing secret for/ })
    .locator('option')
    .allInnerTexts();
  assert.ok(
    !options.some((o) => o.includes(KEY) || o.includes(VAULT_NAME) || o.includes('db_password')),
    options.join('\n'),
  );

  // Global Secrets: readable, not editable, by a domain user.
  await goTo(page, 'finance', 'global');
  await page.locator('tr[data-key="platform_smtp_password"]').waitFor();
  assert.equal(await page.getByRole('button', { name: 'New global secret', exact: true }).count(), 0);

  assert.deepEqual(mallory.problems, [], 'no CSP violation or page error');
  await assertNotInBrowser(mallory, [...Object.values(canary), vaultToken, KEY, INLINE_KEY, VAULT_NAME, JOB]);
});

test('versions, rollback, disable, a delete with its recovery window and the restore; a storage config built in the editor and its connection test; no value reaches the browser', async (t) => {
  if (skip !== undefined || !browser || !sys) return t.skip(skip);
  const admin = await signedIn(t, 'admin', 'console-last-lifecycle');
  const { page } = admin;
  const { ok, okPoll, outputs } = recordedCli(sys);
  const A = ['--domain', 'analytics'];
  await ok(['secret', 'put', ROLL_KEY, ...A], canary.roll1);
  await ok(['secret', 'put', ROLL_KEY, ...A], canary.roll2);

  // Versions: both kept, 2 current; roll back to 1 once confirmed: a new version 3.
  await goTo(page, 'analytics', 'secrets');
  await page.locator(`tr[data-key="${ROLL_KEY}"]`).getByRole('button', { name: 'Versions', exact: true }).click();
  const panel = page.getByRole('region', { name: `Versions of ${ROLL_KEY}` });
  await panel.locator('tr[data-version="2"][data-current="true"]').waitFor();
  assert.match(await panel.getByTestId('kept').innerText(), /^10 versions are kept per secret/);
  await panel.locator('tr[data-version="1"]').getByRole('button', { name: 'Roll back to 1' }).click();
  const confirm = panel.getByRole('dialog', { name: `Roll back ${ROLL_KEY}` });
  assert.match(await confirm.innerText(), /makes a new version \(3\) with the value of version 1/);
  await screenshot(admin, 'console-rollback-confirm');
  await confirm.getByRole('button', { name: 'Roll back', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'now at version 3, with the value of version 1' }).waitFor();
  await panel.locator('tr[data-version="3"][data-current="true"]').waitFor();
  assert.match(await panel.locator('tr[data-version="3"]').innerText(), /rollback: the value of version 1/);

  // Disable version 2: kept, disabled, as the CLI sees it too.
  await panel.locator('tr[data-version="2"]').getByRole('button', { name: 'Disable', exact: true }).click();
  await panel.locator('tr[data-version="2"][data-state="disabled"]').waitFor();
  await screenshot(admin, 'console-secret-versions');
  const versions = JSON.parse((await ok(['secret', 'versions', ROLL_KEY, ...A, '--json'])).stdout) as {
    versions: { version: number; state: string; rolledBackFrom?: number }[];
  };
  assert.deepEqual(
    versions.versions.map((v) => [v.version, v.state, v.rolledBackFrom ?? 0]),
    [
      [3, 'enabled', 1],
      [2, 'disabled', 0],
      [1, 'enabled', 0],
    ],
  );
  await panel.getByRole('button', { name: 'Close', exact: true }).click();

  // Delete with a 2-day recovery window; the deleted list says until when; restore brings it back.
  await page.locator(`tr[data-key="${ROLL_KEY}"]`).getByRole('button', { name: 'Delete', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: `Delete ${ROLL_KEY}` });
  await dialog.getByText('No workload uses it.').waitFor();
  await dialog.getByLabel('Recovery window (days, 0 to 30)').fill('2');
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
  await page
    .getByRole('status')
    .filter({ hasText: `Secret ${ROLL_KEY} deleted. It can be restored` })
    .waitFor();
  await page.locator(`tr[data-key="${ROLL_KEY}"]`).waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Deleted secrets', exact: true }).click();
  const deleted = page.getByRole('table', { name: 'Deleted secrets' }).locator(`tr[data-deleted-key="${ROLL_KEY}"]`);
  await deleted.waitFor();
  const until = Date.parse((await deleted.locator('td[data-recover-until]').getAttribute('data-recover-until')) ?? '');
  assert.ok(
    Math.abs(until - (Date.now() + 2 * 86_400_000)) < 600_000,
    `restorable for 2 days: ${new Date(until).toISOString()}`,
  );
  await screenshot(admin, 'console-deleted-secrets');
  await deleted.getByRole('button', { name: 'Restore' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: `Secret ${ROLL_KEY} restored, as it was: version 3 is current again.` })
    .waitFor();
  await page.locator(`tr[data-key="${ROLL_KEY}"]`).waitFor();
  await deleted.waitFor({ state: 'detached' });
  assert.match((await ok(['secret', 'list', ...A])).stdout, new RegExp(ROLL_KEY));

  // A storage config, built in the editor with picked credentials; Test connection names why it fails, then succeeds.
  const s3 = await startS3Emulator({ region: 'eu-west-3' });
  t.after(() => s3.stop());
  const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  s3.addKey(accessKeyId, canary.s3Secret);
  s3.addBucket('lake-raw', { objects: ['part-0.parquet'] });
  await ok(['secret', 'put', 'lake_access_key', ...A], accessKeyId);
  await ok(['secret', 'put', 'lake_secret', ...A], canary.s3Secret);
  await goTo(page, 'analytics', 'workloads');
  await page.getByRole('button', { name: 'New workload', exact: true }).click();
  const editor = page.getByRole('form', { name: 'Workload editor' });
  await editor.getByLabel('Kind').selectOption('STORAGE_CONFIG');
  await editor.getByLabel('Name', { exact: true }).fill(LAKE);
  await editor.getByLabel('Endpoint').fill(s3.url);
  await editor.getByLabel('Region (default us-east-1)').fill('eu-west-3');
  await editor.getByLabel('Bucket').fill('lake-missing');
  await editor.getByLabel('Path-style addressing').check();
  for (const [field, key] of [
    ['Access key', 'lake_access_key'],
    ['Storage secret', 'lake_secret'],
  ] as const) {
    await editor.getByRole('button', { name: `More options for ${field}` }).click();
    await editor.getByRole('menuitem', { name: 'Use existing secret' }).click();
    await editor.getByLabel(`Existing secret for ${field}`).selectOption({ label: `${key} — analytics (managed)` });
    await editor.getByRole('button', { name: 'Use', exact: true }).click();
  }
  await editor.getByRole('button', { name: 'Create', exact: true }).click();
  const lake = page.locator(`tr[data-workload="${LAKE}"]`);
  await lake.waitFor();
  assert.equal(
    await lake.getByRole('button', { name: 'Deploy', exact: true }).count(),
    0,
    'a storage config is not deployed',
  );
  await lake.getByRole('button', { name: 'Test connection' }).click();
  const failed = page.locator('[data-output="test"] [data-outcome]');
  await failed.waitFor();
  assert.equal(await failed.getAttribute('data-outcome'), 'storage.no_such_bucket');
  assert.match(await failed.innerText(), /Connection failed \(storage\.no_such_bucket\): no such bucket lake-missing/);
  await screenshot(admin, 'console-storage-test-failed');

  // Edit keeps the rest of the spec (references, region, path style): only the bucket changes.
  await lake.getByRole('button', { name: 'Edit', exact: true }).click();
  await editor.getByLabel('Bucket').fill('lake-raw');
  await editor.getByRole('button', { name: 'Save', exact: true }).click();
  await editor.waitFor({ state: 'detached' });
  const requests = s3.requests.length;
  await lake.getByRole('button', { name: 'Test connection' }).click();
  await page.locator('[data-output="test"] [data-outcome="ok"]').waitFor();
  const shown = await page.locator('[data-output="test"]').innerText();
  assert.match(shown, /Connection OK \(HTTP 200\)/);
  assert.match(shown, new RegExp(`region eu-west-3, bucket lake-raw`));
  assert.match(shown, /lake_secret \(MANAGED analytics\) ok, version 1/);
  assert.deepEqual(
    s3.requests.slice(requests).map((r) => [r.method, r.bucket, r.accessKeyId, r.outcome]),
    [['GET', 'lake-raw', accessKeyId, 'ok']],
  );
  await screenshot(admin, 'console-storage-test-ok');
  // okPoll: the workload list the CLI reads is the same the console showed.
  assert.match((await okPoll(['workload', 'list', ...A])).stdout, new RegExp(LAKE));

  cliOutputs.push(...outputs);
  assert.deepEqual(admin.problems, [], 'no CSP violation or page error');
  const seen = await assertNotInBrowser(admin, Object.values(canary));
  assert.ok(seen > 20, `the scan saw the console's traffic (${seen} responses)`);
  await assertNowhere(sys, Object.values(canary), cliOutputs);
});
