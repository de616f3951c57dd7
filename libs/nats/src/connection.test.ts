import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readBusAuth } from './connection.js';

test('a service without NATS credentials does not start, naming the variables; only LATCHKEY_INSECURE=1 lets it connect without', async () => {
  await assert.rejects(
    readBusAuth({ LATCHKEY_INSECURE: false }, '_INBOX_x'),
    /required: LATCHKEY_NATS_CREDS_FILE, LATCHKEY_NATS_CA_FILE .*or LATCHKEY_INSECURE=1/,
  );
  assert.equal(await readBusAuth({ LATCHKEY_INSECURE: true }, '_INBOX_x'), undefined);
  // Half a configuration is an error even when insecure.
  await assert.rejects(
    readBusAuth({ LATCHKEY_INSECURE: true, LATCHKEY_NATS_CREDS_FILE: '/x.creds' }, '_INBOX_x'),
    /required: LATCHKEY_NATS_CA_FILE/,
  );
});

test('unreadable or malformed NATS files are named with their variable', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'latchkey-nats-conf-'));
  const creds = path.join(dir, 'svc.creds');
  const ca = path.join(dir, 'ca.crt');
  await writeFile(creds, 'not creds');
  await writeFile(ca, '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
  await assert.rejects(
    readBusAuth({ LATCHKEY_INSECURE: false, LATCHKEY_NATS_CREDS_FILE: creds, LATCHKEY_NATS_CA_FILE: ca }, '_INBOX_x'),
    /is not a NATS credentials file \(LATCHKEY_NATS_CREDS_FILE\)/,
  );
  await assert.rejects(
    readBusAuth(
      { LATCHKEY_INSECURE: false, LATCHKEY_NATS_CREDS_FILE: path.join(dir, 'missing'), LATCHKEY_NATS_CA_FILE: ca },
      '_INBOX_x',
    ),
    /cannot read the NATS credentials .*ENOENT.*check LATCHKEY_NATS_CREDS_FILE/,
  );
  await writeFile(creds, '-----BEGIN NATS USER JWT-----\neyJ\n------END NATS USER JWT------\n');
  await writeFile(ca, 'nope');
  await assert.rejects(
    readBusAuth({ LATCHKEY_INSECURE: false, LATCHKEY_NATS_CREDS_FILE: creds, LATCHKEY_NATS_CA_FILE: ca }, '_INBOX_x'),
    /holds no PEM certificate \(LATCHKEY_NATS_CA_FILE\)/,
  );
  await writeFile(ca, '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
  const auth = await readBusAuth(
    { LATCHKEY_INSECURE: false, LATCHKEY_NATS_CREDS_FILE: creds, LATCHKEY_NATS_CA_FILE: ca },
    '_INBOX_svc',
  );
  assert.equal(auth?.inboxPrefix, '_INBOX_svc');
});
