import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from 'nats';
import { eventHeaders, eventTypes, type WorkloadStale } from '@latchkey/events';
import { busConnectionOptions } from '@latchkey/nats';
import { waitFor } from '@latchkey/testing';
import { connectEmbeddedBus, publishRefused, subscribeRefused, violations } from './bus-harness.js';
import { runCli, startSystem, type CliResult } from './system-harness.js';

// External event subscribers (issue 12 §2) on the embedded system as users run it:
// an owner mints credentials with `latchkey events credentials`; they work on the
// real NATS for exactly the public events of the granted domain.

test('an owner of alpha gets subscriber credentials for alpha, not for beta; a member gets none; they read only alpha’s public events and publish nothing', async (t) => {
  const sys = await startSystem();
  t.after(() => sys.cleanup());
  const ok = async (r: Promise<CliResult>, what: string): Promise<CliResult> => {
    const res = await r;
    assert.equal(res.code, 0, `${what}: ${res.stderr}${res.stdout}`);
    return res;
  };
  await ok(sys.cli(['domain', 'create', 'alpha']), 'create alpha');
  await ok(sys.cli(['domain', 'create', 'beta']), 'create beta');
  await ok(sys.cli(['domain', 'grant', 'alpha', '--user', 'olive', '--role', 'owner']), 'olive owns alpha');
  await ok(sys.cli(['domain', 'grant', 'beta', '--user', 'olive', '--role', 'member']), 'olive is a member of beta');
  await ok(sys.cli(['domain', 'grant', 'alpha', '--user', 'mel', '--role', 'member']), 'mel is a member of alpha');
  const tokenOf = async (user: string) =>
    (await ok(sys.cli(['login', '--user', user, '--print']), `token of ${user}`)).stdout.trim();
  const olive = await tokenOf('olive');
  const mel = await tokenOf('mel');
  const as = (token: string, args: string[]) => runCli(sys.home, args, undefined, { LATCHKEY_TOKEN: token });

  const file = join(sys.home, 'alpha-hook.creds');
  const minted = await ok(
    as(olive, ['events', 'credentials', '--domain', 'alpha', '--name', 'alpha-hook', '--out', file]),
    'olive mints for alpha',
  );
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const creds = await readFile(file, 'utf8');
  assert.match(creds, /BEGIN NATS USER JWT/);
  const seed = /^SU[A-Z0-9]+$/m.exec(creds)?.[0] ?? '';
  assert.ok(seed !== '' && !minted.stdout.includes(seed) && !minted.stderr.includes(seed), 'the seed is not printed');

  // Not for beta (a member there), not for beta next to alpha, and not for a member of alpha.
  for (const [token, domains, who] of [
    [olive, ['beta'], 'olive for beta'],
    [olive, ['alpha', 'beta'], 'olive for alpha and beta'],
    [mel, ['alpha'], 'mel (member) for alpha'],
  ] as const) {
    const out = join(sys.home, `refused-${who.replace(/\W+/g, '-')}.creds`);
    const args = ['events', 'credentials', ...domains.flatMap((d) => ['--domain', d]), '--name', 'x', '--out', out];
    const refused = await as(token, args);
    assert.equal(refused.code, 1, `${who} must be refused: ${refused.stdout}`);
    assert.match(refused.stderr, /permission_denied/);
    await assert.rejects(stat(out), /ENOENT/, `${who}: no file`);
  }

  // On the real bus: with TLS by the local CA, it receives alpha's workload.stale ...
  const conn = JSON.parse(await readFile(join(sys.home, 'connection.json'), 'utf8')) as { natsUrl: string };
  const ca = await readFile(join(sys.home, 'tls', 'ca.crt'));
  const subscriber = await connect({
    servers: conn.natsUrl,
    ...busConnectionOptions({ creds: new TextEncoder().encode(creds), ca, inboxPrefix: '_INBOX_unused' }),
  });
  t.after(() => subscriber.close());
  const got: string[] = [];
  subscriber.subscribe('latchkey.workload.stale.alpha', { callback: (_e, m) => got.push(m.subject) });
  await subscriber.flush();
  const deployer = await connect({
    servers: conn.natsUrl,
    ...busConnectionOptions({
      creds: await readFile(join(sys.home, 'bus', 'deployer.creds')),
      ca,
      inboxPrefix: '_INBOX_deployer',
    }),
  });
  t.after(() => deployer.close());
  // A well-formed event (a manual workload's, which the deployer's own consumer skips): every event
  // on a public subject is checked against the AsyncAPI document when the test ends.
  const probe: WorkloadStale = {
    domain: 'alpha',
    changed: { scope: 'alpha', key: 'probe', currentVersion: 2, change: 'updated' },
    workloads: [{ workloadId: randomUUID(), workload: 'probe', deployedVersion: 1, redeployMode: 'manual' }],
  };
  const probeId = `stale:probe:${randomUUID()}`;
  deployer.publish('latchkey.workload.stale.alpha', JSON.stringify(probe), {
    headers: eventHeaders({
      id: probeId,
      source: 'latchkey/deployer',
      type: eventTypes.stale,
      subject: 'latchkey.workload.stale.alpha',
      time: new Date().toISOString(),
    }),
  });
  await deployer.flush();
  await waitFor(() => got.length === 1, { what: "alpha's workload.stale to reach the subscriber" });

  // ... and nothing of beta's, nothing else, and it publishes nothing.
  for (const subject of [
    'latchkey.workload.stale.beta',
    'latchkey.>',
    'latchkey.workload.resolved.alpha',
    '_INBOX_deployer.>',
  ]) {
    assert.equal(await subscribeRefused(subscriber, subject), true, `subscriber must not subscribe to ${subject}`);
  }
  const seen = violations(subscriber);
  const observer = await connectEmbeddedBus(sys.home);
  t.after(() => observer.close());
  for (const subject of ['latchkey.workload.stale.alpha', 'latchkey.workload.deploying.alpha', '$JS.API.INFO']) {
    assert.equal(await publishRefused(subscriber, seen, observer, subject), true, `publish ${subject}`);
  }
});
