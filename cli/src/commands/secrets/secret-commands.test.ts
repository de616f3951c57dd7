import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { CatalogServiceServer, PutSecretRequest, SetRotationPolicyRequest } from '@latchkey/proto';
import { main } from '../../main.js';
import { fakeSecret } from '../../testing/fake-records.js';
import { fail, useFakeServices } from '../../testing/fake-services.js';

/** What the fake catalog was sent by secret put, and with which authorization. */
const puts: PutSecretRequest[] = [];
const auth: string[] = [];

const putSecret: CatalogServiceServer['putSecret'] = (call, cb) => {
  puts.push(call.request);
  auth.push(String(call.metadata.get('authorization')[0]));
  if (call.request.key === 'BAD') {
    fail(cb, status.INVALID_ARGUMENT, 'secret.invalid_key', 'key BAD is reserved');
    return;
  }
  cb(null, {
    scope: call.request.scope,
    key: call.request.key,
    source: 'MANAGED',
    version: 3,
    createdAt: '',
    updatedAt: '',
    updatedBy: 'admin',
    description: call.request.description,
    // The catalog answers with the policy in force: as given, none after `never`, kept (here: none) when absent.
    rotateEvery: call.request.rotateEvery === 'never' ? '' : (call.request.rotateEvery ?? ''),
    deletedAt: '',
    recoverUntil: '',
  });
};

const fake = useFakeServices({
  catalog: {
    putSecret,
    setRotationPolicy: (call, cb) => {
      if (call.request.key === 'ghost') {
        fail(cb, status.NOT_FOUND, 'secret.not_found', 'secret ghost not found in domain analytics');
        return;
      }
      cb(null, {
        ...fakeSecret(call.request.key, 4),
        rotateEvery: call.request.rotateEvery === 'never' ? '' : call.request.rotateEvery,
      });
    },
    deleteSecret: (call, cb) =>
      cb(null, {
        deleted: fakeSecret(call.request.key, 2),
        dependents: call.request.force ? ['analytics/nightly-etl', 'analytics/report'] : [],
        recoverUntil: call.request.recoveryDays === 0 ? '' : '2026-12-09T13:00:00.000Z',
      }),
  },
});

test('secret put sends stdin minus one newline with the admin token, and never prints the value', async () => {
  const io = fake.io({ stdin: 'p@ss word\n' });
  assert.equal(
    await main(['secret', 'put', 'DB_PASSWORD', '--domain', 'analytics', '--description', 'main db'], io),
    0,
  );
  const put = puts.at(-1);
  assert.equal(Buffer.from(put?.value ?? []).toString(), 'p@ss word');
  assert.deepEqual(put?.scope, { domain: 'analytics', global: false });
  assert.equal(put?.description, 'main db');
  assert.equal(auth.at(-1), `Bearer ${fake.creds.admin}`);
  assert.deepEqual(io.stdoutLines, ['DB_PASSWORD version 3 in domain analytics']);
});

test('secret put sends no rotation policy unless --rotate-every is given (the secret keeps its own)', async () => {
  const io = fake.io({ stdin: 'some-value' });
  assert.equal(await main(['secret', 'put', 'K', '--domain', 'analytics'], io), 0);
  assert.equal(puts.at(-1)?.rotateEvery, undefined);
});

test('secret put --rotate-every sends the policy and prints it; never removes it', async () => {
  const io = fake.io({ stdin: 'some-value' });
  assert.equal(await main(['secret', 'put', 'K', '--domain', 'analytics', '--rotate-every', '90d'], io), 0);
  assert.equal(puts.at(-1)?.rotateEvery, '90d');
  assert.deepEqual(io.stdoutLines, ['K version 3 in domain analytics, rotate every 90d']);
  const never = fake.io({ stdin: 'some-value' });
  assert.equal(await main(['secret', 'put', 'K', '--domain', 'analytics', '--rotate-every', 'never'], never), 0);
  assert.equal(puts.at(-1)?.rotateEvery, 'never');
  assert.deepEqual(never.stdoutLines, ['K version 3 in domain analytics']);
});

test('secret put refuses a malformed --rotate-every before reading the value', async () => {
  const before = puts.length;
  const io = fake.io({ stdin: 'some-value' });
  assert.equal(await main(['secret', 'put', 'K', '--domain', 'analytics', '--rotate-every', '3 months'], io), 2);
  assert.match(io.stderrLines.join('\n'), /--rotate-every "3 months" is not a rotation period: use <N>d or <N>h/);
  assert.equal(puts.length, before, 'nothing was sent');
});

test('LATCHKEY_TOKEN overrides the admin token; --json prints metadata only', async () => {
  const io = fake.io({ stdin: 'v', env: { LATCHKEY_TOKEN: 'alice-token' } });
  assert.equal(await main(['secret', 'put', 'G', '--global', '--json'], io), 0);
  assert.equal(auth.at(-1), 'Bearer alice-token');
  const json = JSON.parse(io.stdoutLines.join('\n')) as Record<string, unknown>;
  assert.equal(json['key'], 'G');
  assert.equal(json['version'], 3);
  assert.equal('value' in json, false);
});

test('a service error is printed as message and code, exit 1', async () => {
  const io = fake.io({ stdin: 'v' });
  assert.equal(await main(['secret', 'put', 'BAD', '--global'], io), 1);
  assert.deepEqual(io.stderrLines, ['latchkey: key BAD is reserved (secret.invalid_key)']);
});

test('secret delete --force sets force and prints the dependents', async () => {
  const plain = fake.io();
  assert.equal(await main(['secret', 'delete', 'db_password', '--domain', 'analytics'], plain), 0);
  assert.equal((fake.last('deleteSecret') as { force: boolean }).force, false);
  assert.equal((fake.last('deleteSecret') as { recoveryDays?: number }).recoveryDays, undefined);
  assert.deepEqual(plain.stdoutLines, [
    'db_password deleted from domain analytics',
    'restorable until 2026-12-09T13:00:00.000Z (latchkey secret restore db_password --domain analytics); its values are destroyed then',
  ]);
  const forced = fake.io();
  assert.equal(await main(['secret', 'delete', 'db_password', '--domain', 'analytics', '--force'], forced), 0);
  assert.equal((fake.last('deleteSecret') as { force: boolean }).force, true);
  assert.deepEqual(forced.stdoutLines, [
    'db_password deleted from domain analytics',
    'restorable until 2026-12-09T13:00:00.000Z (latchkey secret restore db_password --domain analytics); its values are destroyed then',
    'workloads that referenced it, now stale (2):',
    '  analytics/nightly-etl',
    '  analytics/report',
  ]);
});

test('secret policy sets or removes a rotation policy and says which', async () => {
  const set = fake.io();
  assert.equal(
    await main(['secret', 'policy', 'db_password', '--domain', 'analytics', '--rotate-every', '90d'], set),
    0,
  );
  assert.deepEqual(fake.last('setRotationPolicy'), {
    scope: { domain: 'analytics', global: false },
    key: 'db_password',
    rotateEvery: '90d',
  });
  assert.deepEqual(set.stdoutLines, ['db_password in domain analytics: rotate every 90d']);
  const cleared = fake.io();
  assert.equal(
    await main(['secret', 'policy', 'db_password', '--global', '--rotate-every', 'never', '--json'], cleared),
    0,
  );
  assert.equal(fake.last<SetRotationPolicyRequest>('setRotationPolicy').rotateEvery, 'never');
  assert.equal((JSON.parse(cleared.stdoutLines.join('\n')) as { rotateEvery: string }).rotateEvery, '');
});

test('secret policy without --rotate-every, or with a malformed one, is a usage error; a missing key is the catalog’s error', async () => {
  const missing = fake.io();
  assert.equal(await main(['secret', 'policy', 'db_password', '--domain', 'analytics'], missing), 2);
  assert.match(missing.stderrLines.join('\n'), /--rotate-every is required: <N>d or <N>h \(e.g. 90d\), or never/);
  const bad = fake.io();
  assert.equal(
    await main(['secret', 'policy', 'db_password', '--domain', 'analytics', '--rotate-every', '90'], bad),
    2,
  );
  assert.match(bad.stderrLines.join('\n'), /--rotate-every "90" is not a rotation period/);
  assert.equal(fake.calls('setRotationPolicy'), 0);
  const ghost = fake.io();
  assert.equal(await main(['secret', 'policy', 'ghost', '--domain', 'analytics', '--rotate-every', '30d'], ghost), 1);
  assert.deepEqual(ghost.stderrLines, ['latchkey: secret ghost not found in domain analytics (secret.not_found)']);
});

test('secret delete --recovery-days sends the window (0 destroys now); a malformed one is refused before any call', async () => {
  const now = fake.io();
  assert.equal(await main(['secret', 'delete', 'db_password', '--global', '--recovery-days', '0'], now), 0);
  assert.equal((fake.last('deleteSecret') as { recoveryDays?: number }).recoveryDays, 0);
  assert.deepEqual(now.stdoutLines, ['db_password deleted from global scope', 'its values are destroyed']);
  const thirty = fake.io();
  assert.equal(await main(['secret', 'delete', 'db_password', '--global', '--recovery-days', '30'], thirty), 0);
  assert.equal((fake.last('deleteSecret') as { recoveryDays?: number }).recoveryDays, 30);
  const before = fake.calls('deleteSecret');
  for (const bad of ['31', '1.5', 'week']) {
    const io = fake.io();
    assert.equal(await main(['secret', 'delete', 'db_password', '--global', '--recovery-days', bad], io), 2);
    assert.match(io.stderrLines.join('\n'), /is not a recovery window: give a whole number of days from 0 to 30/);
  }
  assert.equal(fake.calls('deleteSecret'), before, 'nothing was sent');
});
