import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type {
  ListSecretsRequest,
  RollbackSecretRequest,
  SecretVersion,
  SetSecretVersionStateRequest,
} from '@latchkey/proto';
import { fakeSecretVersion } from '@latchkey/testing';
import { main } from '../../main.js';
import { fakeSecret } from '../../testing/fake-records.js';
import { fail, useFakeServices } from '../../testing/fake-services.js';

const version = (n: number, extra: Partial<SecretVersion> = {}): SecretVersion =>
  fakeSecretVersion(n, { createdAt: `2026-12-0${n}T00:00:00.000Z`, ...extra });

const fake = useFakeServices({
  catalog: {
    listSecretVersions: (call, cb) => {
      if (call.request.key === 'gone') {
        fail(cb, status.FAILED_PRECONDITION, 'secret.deleted', 'secret gone in domain analytics was deleted');
        return;
      }
      cb(null, {
        secret: fakeSecret(call.request.key, 3),
        versions: [
          version(3, { current: true, rolledBackFrom: 1, heldBy: ['analytics/etl'] }),
          version(2, { state: 'disabled', disabledAt: '2026-12-02T01:00:00.000Z', disabledBy: 'bob' }),
          version(1, { heldBy: ['analytics/report', 'analytics/old'] }),
        ],
        kept: 10,
        holdersKnown: true,
      });
    },
    rollbackSecret: (call, cb) => cb(null, fakeSecret(call.request.key, 4)),
    setSecretVersionState: (call, cb) =>
      cb(null, version(call.request.version, { state: call.request.disabled ? 'disabled' : 'enabled', current: true })),
    restoreSecret: (call, cb) => cb(null, fakeSecret(call.request.key, 2)),
    listSecrets: (call, cb) =>
      cb(null, {
        secrets: call.request.deleted
          ? [
              fakeSecret('old_token', 2, {
                deletedAt: '2026-12-01T00:00:00.000Z',
                recoverUntil: '2026-12-08T00:00:00.000Z',
              }),
            ]
          : [fakeSecret('db_password', 1)],
      }),
  },
});

test('secret versions lists every kept version: number, created, by, state and who holds it, never a value', async () => {
  const io = fake.io();
  assert.equal(await main(['secret', 'versions', 'db_password', '--domain', 'analytics'], io), 0);
  assert.deepEqual(fake.last('listSecretVersions'), {
    scope: { domain: 'analytics', global: false },
    key: 'db_password',
  });
  const text = io.stdoutLines.join('\n');
  assert.match(io.stdoutLines[0] ?? '', /^VERSION\s+CREATED\s+BY\s+STATE\s+HELD_BY$/);
  assert.match(text, /3 \(current\)\s+2026-12-03T00:00:00.000Z\s+alice\s+enabled, rollback to 1\s+analytics\/etl/);
  assert.match(text, /2\s+2026-12-02T00:00:00.000Z\s+alice\s+disabled\s+-/);
  assert.match(text, /1\s+2026-12-01T00:00:00.000Z\s+alice\s+enabled\s+analytics\/report, analytics\/old/);
  assert.equal(io.stdoutLines.at(-1), '10 versions are kept per secret; older ones are destroyed');
  const json = fake.io();
  assert.equal(await main(['secret', 'versions', 'db_password', '--global', '--json'], json), 0);
  const parsed = JSON.parse(json.stdoutLines.join('\n')) as { versions: { version: number; heldBy?: string[] }[] };
  assert.deepEqual(
    parsed.versions.map((v) => v.version),
    [3, 2, 1],
  );
  const gone = fake.io();
  assert.equal(await main(['secret', 'versions', 'gone', '--domain', 'analytics'], gone), 1);
  assert.deepEqual(gone.stderrLines, ['latchkey: secret gone in domain analytics was deleted (secret.deleted)']);
});

test('secret rollback --to N asks the catalog for a new version with N’s value and says so; --to is checked first', async () => {
  const io = fake.io();
  assert.equal(await main(['secret', 'rollback', 'db_password', '--domain', 'analytics', '--to', '2'], io), 0);
  assert.deepEqual(fake.last<RollbackSecretRequest>('rollbackSecret'), {
    scope: { domain: 'analytics', global: false },
    key: 'db_password',
    toVersion: 2,
  });
  assert.deepEqual(io.stdoutLines, ['db_password version 4 in domain analytics, with the value of version 2']);
  const before = fake.calls('rollbackSecret');
  for (const args of [[], ['--to', '0'], ['--to', 'two'], ['--to', '1.5']]) {
    const bad = fake.io();
    assert.equal(await main(['secret', 'rollback', 'db_password', '--domain', 'analytics', ...args], bad), 2);
    assert.match(bad.stderrLines.join('\n'), /--to (is required|"[^"]*" is not a version number)/);
  }
  assert.equal(fake.calls('rollbackSecret'), before, 'nothing was sent');
});

test('secret disable and enable --version N set the state of that version', async () => {
  const off = fake.io();
  assert.equal(await main(['secret', 'disable', 'db_password', '--domain', 'analytics', '--version', '3'], off), 0);
  assert.deepEqual(fake.last<SetSecretVersionStateRequest>('setSecretVersionState'), {
    scope: { domain: 'analytics', global: false },
    key: 'db_password',
    version: 3,
    disabled: true,
  });
  assert.deepEqual(off.stdoutLines, ['db_password version 3 in domain analytics: disabled (the current version)']);
  const on = fake.io();
  assert.equal(await main(['secret', 'enable', 'db_password', '--global', '--version', '3'], on), 0);
  assert.equal(fake.last<SetSecretVersionStateRequest>('setSecretVersionState').disabled, false);
  assert.deepEqual(on.stdoutLines, ['db_password version 3 in global scope: enabled (the current version)']);
  const missing = fake.io();
  assert.equal(await main(['secret', 'disable', 'db_password', '--global'], missing), 2);
  assert.match(missing.stderrLines.join('\n'), /--version is required/);
});

test('secret list --deleted lists what can be restored and until when; secret restore brings one back', async () => {
  const io = fake.io();
  assert.equal(await main(['secret', 'list', '--domain', 'analytics', '--deleted'], io), 0);
  assert.equal(fake.last<ListSecretsRequest>('listSecrets').deleted, true);
  assert.match(io.stdoutLines[0] ?? '', /^KEY\s+VERSION\s+DELETED\s+DELETED_BY\s+RESTORABLE_UNTIL$/);
  assert.match(
    io.stdoutLines[1] ?? '',
    /^old_token\s+2\s+2026-12-01T00:00:00.000Z\s+alice\s+2026-12-08T00:00:00.000Z$/,
  );
  const plain = fake.io();
  assert.equal(await main(['secret', 'list', '--domain', 'analytics'], plain), 0);
  assert.equal(fake.last<ListSecretsRequest>('listSecrets').deleted, false);
  const restore = fake.io();
  assert.equal(await main(['secret', 'restore', 'old_token', '--domain', 'analytics'], restore), 0);
  assert.deepEqual(fake.last('restoreSecret'), { scope: { domain: 'analytics', global: false }, key: 'old_token' });
  assert.deepEqual(restore.stdoutLines, ['old_token restored in domain analytics, version 2']);
});
