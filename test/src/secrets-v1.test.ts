// features.secretsV2 off (LATCHKEY_SECRETS_V2=false on `latchkey up`, which
// hands it to every service): the legacy mode the seeds migrate from. Only
// ${secrets.KEY} placeholders work, read from global scope only; a workload
// with a structured reference is refused on apply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startRecordedSystem } from './recorded-cli.js';
import {
  applyWorkload,
  computeWorkload,
  managedRef,
  sha,
  waitForLogs,
  workloadScript,
  writeWorkload,
} from './workload-files.js';

test('with Secrets V2 off, structured references are refused on apply and a placeholder gets the global secret, never the domain one of the same key', async (t) => {
  const { sys, cli, ok } = await startRecordedSystem(t, { env: { LATCHKEY_SECRETS_V2: 'false' } });
  const value = (name: string) => `${name}-${randomBytes(12).toString('hex')}`;
  const globalValue = value('global');
  const domainValue = value('domain');
  await ok(['domain', 'create', 'analytics']);
  await ok(['secret', 'put', 'db_password', '--global'], globalValue);
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], domainValue);
  await ok(['secret', 'put', 'team_only', '--domain', 'analytics'], value('team'));

  // A structured reference: refused on apply, naming its JSON path and how to turn V2 on; nothing stored.
  const structured = await writeWorkload(
    sys.home,
    computeWorkload('structured', { MODE: 'x', DB_PASSWORD: managedRef('db_password', 'analytics') }),
  );
  const refused = await cli(['workload', 'apply', '-f', structured, '--domain', 'analytics']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /\$\.envVars\.DB_PASSWORD is a structured secret reference/);
  assert.match(refused.stderr, /features\.secretsV2\.enabled: true in the Helm values; LATCHKEY_SECRETS_V2=true/);
  assert.doesNotMatch((await ok(['workload', 'list', '--domain', 'analytics'])).stdout, /structured/);

  // A placeholder: resolved from global scope, though the domain holds the same key.
  const script = workloadScript("console.log('got', h(process.env.DB_PASSWORD));", "console.log('done');");
  await applyWorkload(
    ok,
    sys.home,
    'analytics',
    computeWorkload('legacy', { DB_PASSWORD: '${secrets.db_password}' }, script),
  );
  const deployed = JSON.parse((await ok(['deploy', 'legacy', '--domain', 'analytics', '--wait', '--json'])).stdout) as {
    status: string;
    versions: { refId: string; scope: string; version: number }[];
  };
  assert.ok(['deployed', 'exited'].includes(deployed.status), deployed.status);
  assert.deepEqual(
    deployed.versions.map((v) => [v.refId, v.scope, v.version]),
    [['LEGACY:db_password', 'global', 1]],
  );
  const out = await waitForLogs(ok, 'legacy', 'analytics', 'done');
  assert.ok(out.includes(`got ${sha(globalValue)}`), out);
  assert.ok(!out.includes(sha(domainValue)), 'the domain secret of the same key was not injected');

  // A key only the domain holds is not found: placeholders never read the domain.
  await applyWorkload(ok, sys.home, 'analytics', computeWorkload('team', { T: '${secrets.team_only}' }));
  const dry = await cli(['deploy', 'team', '--domain', 'analytics', '--dry-run']);
  assert.equal(dry.code, 1, dry.stderr + dry.stdout);
  assert.match(dry.stdout, /\$\{secrets\.team_only\}\s+MANAGED\s+-\s+-\s+secret\.not_found/);
});
