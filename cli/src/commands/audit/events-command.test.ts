import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { refusedFinance, useFakeServices } from '../../testing/fake-services.js';

const FAKE_CREDS = '-----BEGIN NATS USER JWT-----\nfake-jwt\n------END NATS USER JWT------\nSUFAKESEED\n';

const fake = useFakeServices({
  ras: {
    mintEventCredentials: (call, cb) => {
      if (call.request.domains.some((d) => refusedFinance(d, cb))) return;
      cb(null, {
        creds: FAKE_CREDS,
        user: 'UFAKE',
        expiresAt: '2027-03-01T00:00:00.000Z',
        subjects: call.request.domains.map((d) => `latchkey.workload.stale.${d}`),
      });
    },
  },
});

test('events credentials writes the credentials to a new 0600 file and never prints them', async () => {
  const file = path.join(fake.home, `hook-${process.hrtime.bigint()}.creds`);
  const out = await fake.run(
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
  assert.deepEqual(fake.last('mintEventCredentials'), { domains: ['analytics', 'ml'], name: 'hook', ttlDays: 7 });
  assert.equal(await readFile(file, 'utf8'), FAKE_CREDS);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const printed = out.stdoutLines.join('\n') + out.stderrLines.join('\n');
  assert.ok(!printed.includes('SUFAKESEED') && !printed.includes('fake-jwt'), printed);
  assert.match(printed, /latchkey\.workload\.stale\.analytics/);
  // An existing file is never written over.
  const again = await fake.run(['events', 'credentials', '--domain', 'analytics', '--name', 'hook', '--out', file], 1);
  assert.match(again.stderrLines.join('\n'), /exists: choose another --out/);
});

test('events credentials: a refusal from ras writes no file; usage errors send nothing', async () => {
  const file = path.join(fake.home, `refused-${process.hrtime.bigint()}.creds`);
  const refused = await fake.run(['events', 'credentials', '--domain', 'finance', '--name', 'hook', '--out', file], 1);
  assert.match(refused.stderrLines.join('\n'), /ras\.permission_denied/);
  await assert.rejects(stat(file), /ENOENT/);
  const noDomain = await fake.run(['events', 'credentials', '--name', 'hook', '--out', file], 2);
  assert.match(noDomain.stderrLines.join('\n'), /--domain is required/);
  const badDays = await fake.run(
    ['events', 'credentials', '--domain', 'a', '--name', 'h', '--out', file, '--days', '0'],
    2,
  );
  assert.match(badDays.stderrLines.join('\n'), /--days must be a whole number/);
});
