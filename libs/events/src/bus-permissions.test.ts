import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUS_SERVICES, busPermissions, subscriberPermissions } from './bus-permissions.js';
import { subjects } from './subjects.js';

const eventPublishes = (service: (typeof BUS_SERVICES)[number]): string[] =>
  busPermissions(service).publish.filter((s) => s.startsWith('latchkey.'));

test('each event subject has exactly the one producer issue 12 names, and each service only its own audit subject', () => {
  assert.deepEqual(
    eventPublishes('deployer').sort(),
    [
      subjects.deploying('*'),
      subjects.stale('*'),
      subjects.stopRequested('*'),
      subjects.deployed('*'),
      subjects.failed('*'),
      'latchkey.resolver.plan.*',
      'latchkey.audit.deployer.>',
    ].sort(),
  );
  assert.deepEqual(
    eventPublishes('resolver').sort(),
    [
      subjects.resolved('*'),
      subjects.resolutionFailed('*'),
      subjects.resolutionRetrying('*'),
      'latchkey.audit.resolver.>',
    ].sort(),
  );
  assert.deepEqual(
    eventPublishes('catalog').sort(),
    [subjects.secretChanged('*'), subjects.secretRotationDue('*'), 'latchkey.audit.catalog.>'].sort(),
  );
  assert.deepEqual(eventPublishes('ras').sort(), [subjects.policyChanged(), 'latchkey.audit.ras.>'].sort());
  // The gateway publishes no event (it calls the services over gRPC as each request's caller).
  assert.deepEqual(eventPublishes('gateway'), ['latchkey.audit.gateway.>']);
  assert.deepEqual(busPermissions('gateway').subscribe.sort(), ['_INBOX_gateway.>', subjects.policyChanged()].sort());
  // Its one KV bucket (used console login links): create it, write and read its keys; no other service touches it.
  assert.deepEqual(
    busPermissions('gateway').publish.filter((p) => p.includes('KV')),
    [
      '$JS.API.STREAM.INFO.KV_latchkey_login_links',
      '$JS.API.STREAM.CREATE.KV_latchkey_login_links',
      '$JS.API.DIRECT.GET.KV_latchkey_login_links',
      '$JS.API.DIRECT.GET.KV_latchkey_login_links.>',
      '$KV.latchkey_login_links.>',
    ],
  );
  for (const s of BUS_SERVICES) {
    if (s !== 'gateway') assert.ok(!busPermissions(s).publish.some((p) => p.includes('KV')), s);
  }
  // Only the resolver answers requests (the plan requests).
  for (const s of BUS_SERVICES) assert.equal(busPermissions(s).allowResponses === true, s === 'resolver', s);
});

test('no service may publish a wildcard it does not own, touch another inbox, or delete or purge a stream', () => {
  for (const s of BUS_SERVICES) {
    const { publish, subscribe } = busPermissions(s);
    for (const p of publish) {
      assert.ok(!['>', 'latchkey.>', '$JS.API.>', '$JS.>', '_INBOX.>'].includes(p), `${s}: ${p}`);
      assert.ok(!/\$JS\.API\.STREAM\.(DELETE|PURGE|MSG)/.test(p), `${s}: ${p}`);
    }
    for (const sub of subscribe) assert.ok(!sub.startsWith('_INBOX') || sub === `_INBOX_${s}.>`, `${s}: ${sub}`);
  }
});

test('an external subscriber may subscribe only to the public events of its domains and publish nothing', () => {
  const p = subscriberPermissions(['a', 'b']);
  assert.deepEqual(p.publish, []);
  assert.equal(p.allowResponses, undefined);
  assert.deepEqual(p.subscribe.sort(), [
    'latchkey.secret.changed.a',
    'latchkey.secret.changed.b',
    'latchkey.secret.rotation_due.a',
    'latchkey.secret.rotation_due.b',
    'latchkey.workload.deployed.a',
    'latchkey.workload.deployed.b',
    'latchkey.workload.failed.a',
    'latchkey.workload.failed.b',
    'latchkey.workload.stale.a',
    'latchkey.workload.stale.b',
  ]);
  assert.throws(() => subscriberPermissions([]), /at least one domain/);
  for (const bad of ['>', '*', 'a.>', 'global', 'A'])
    assert.throws(() => subscriberPermissions([bad]), /not a domain name/);
});

test('only a stream’s owner may update it: ras the audit stream, the deployer the events and sealed values', () => {
  const updates = (s: (typeof BUS_SERVICES)[number]) =>
    busPermissions(s)
      .publish.filter((p) => p.startsWith('$JS.API.STREAM.UPDATE.'))
      .sort();
  assert.deepEqual(updates('ras'), ['$JS.API.STREAM.UPDATE.LATCHKEY_AUDIT']);
  assert.deepEqual(updates('deployer'), [
    '$JS.API.STREAM.UPDATE.LATCHKEY_EVENTS',
    '$JS.API.STREAM.UPDATE.LATCHKEY_RESOLVED',
  ]);
  assert.deepEqual(updates('catalog'), []);
  assert.deepEqual(updates('resolver'), []);
});
