import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'nats';
import { importSealPublicKey, seal } from '@latchkey/crypto';
import { busIdentity, eventTypes, publishEvent, subjects } from '@latchkey/events';
import { busConnectionOptions } from '@latchkey/nats';
import { waitFor } from '@latchkey/testing';
import { assertNowhere } from './canary-scan.js';
import { auditRecords, startRecordedSystem } from './recorded-cli.js';
import { applyWorkload, computeWorkload, managedRef } from './workload-files.js';

// Issue 12 §2: a bus client holding the resolver's own credentials (the one
// identity allowed to publish workload.resolved) forges an answer for another
// domain's deployment. The bus lets it through; the deployer must not.
test("a workload.resolved forged with the resolver's credentials for another domain's deployment is refused, audited and injects nothing", async (t) => {
  const { sys, outputs, ok } = await startRecordedSystem(t);
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  const forged = `forged-${randomBytes(12).toString('hex')}`;

  await ok(['domain', 'create', 'analytics']);
  await ok(['domain', 'create', 'finance']);
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], canary);
  await applyWorkload(
    ok,
    sys.home,
    'analytics',
    computeWorkload('victim', { DB_PASSWORD: managedRef('db_password', 'analytics') }),
  );
  const victim = JSON.parse((await ok(['deploy', 'victim', '--domain', 'analytics', '--wait', '--json'])).stdout) as {
    id: string;
    status: string;
  };
  assert.equal(victim.status, 'deployed');

  // The attacker holds the resolver's credentials file, as a compromised resolver host would.
  const conn = JSON.parse(await readFile(join(sys.home, 'connection.json'), 'utf8')) as { natsUrl: string };
  const nc = await connect({
    servers: conn.natsUrl,
    ...busConnectionOptions({
      creds: await readFile(join(sys.home, 'bus', 'resolver.creds')),
      ca: await readFile(join(sys.home, 'tls', 'ca.crt')),
      inboxPrefix: busIdentity('resolver').inboxPrefix,
    }),
  });
  t.after(() => nc.close());
  const sealTo = importSealPublicKey(await readFile(join(sys.home, 'deployer-seal.pub'), 'utf8'));
  const refId = 'env:DB_PASSWORD';
  const eventId = randomUUID();
  // Published on finance's subject, claiming finance, for analytics' deployment; JetStream accepts it.
  await publishEvent(nc.jetstream(), 'resolver', {
    id: eventId,
    subject: subjects.resolved('finance'),
    type: eventTypes.resolved,
    data: {
      deploymentId: victim.id,
      domain: 'finance',
      versions: [{ refId, key: 'db_password', sourceType: 'MANAGED', scope: 'finance', version: 1 }],
      sealed: seal(sealTo, Buffer.from(JSON.stringify({ [refId]: forged })), victim.id),
      warnings: [],
    },
  });

  // The deployer refuses it and records the refusal in the victim's domain.
  const rejected = await waitFor(
    async () => {
      const records = await auditRecords(ok, ['--domain', 'analytics']);
      return records.find((r) => r.action === 'bus.rejected' && r.resource.includes(victim.id));
    },
    { what: 'the refusal of the forged event in the audit', timeoutMs: 60_000 },
  );
  assert.deepEqual([rejected.service, rejected.outcome, rejected.domain], ['deployer', 'deny', 'analytics']);

  // The victim runs on as it was; nothing was started with the forged value.
  const w = JSON.parse((await ok(['workload', 'get', 'victim', '--domain', 'analytics', '--json'])).stdout) as {
    liveDeployment?: { id: string; status: string };
  };
  assert.deepEqual([w.liveDeployment?.id, w.liveDeployment?.status], [victim.id, 'deployed']);
  await assertNowhere(sys, [canary, forged], outputs);
});
