import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initTracing, inSpan } from '@latchkey/logger';
import { eventContract, type BusMessage } from './asyncapi-validator.js';
import { eventHeaders } from './envelope.js';
import {
  STALE_WORKLOADS_PER_EVENT,
  type SecretChanged,
  type SecretRotationDue,
  type WorkloadOutcome,
  type WorkloadStale,
} from './event-types.js';
import { eventTypes, subjects } from './subjects.js';

const contract = eventContract();

const WORKLOAD_ID = '6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
const DEPLOYMENT_ID = '0a9b8c7d-6e5f-4a3b-9c1d-2e3f4a5b6c7d';

/** A message as the outbox relay publishes it: headers by `eventHeaders`, inside a span (so with a traceparent). */
async function published(
  ev: { id: string; source: string; type: string; subject: string },
  data: unknown,
): Promise<BusMessage> {
  initTracing();
  const h = await inSpan('publish', () =>
    Promise.resolve(eventHeaders({ ...ev, time: new Date('2026-12-01T08:00:00.123Z').toISOString() })),
  );
  const headers = Object.fromEntries([...h.keys()].map((k) => [k, h.get(k)]));
  headers['Nats-Msg-Id'] = ev.id;
  return { subject: ev.subject, headers, data: JSON.stringify(data), seq: 7 };
}

const stale: WorkloadStale = {
  domain: 'analytics',
  changed: { scope: 'analytics', key: 'db_password', currentVersion: 2, change: 'updated' },
  workloads: [
    { workloadId: WORKLOAD_ID, workload: 'nightly-etl', deployedVersion: 1, redeployMode: 'auto' },
    { workloadId: DEPLOYMENT_ID, workload: 'hourly-report', deployedVersion: 1, redeployMode: 'manual' },
  ],
};
const outcome = (status: 'deployed' | 'failed'): WorkloadOutcome => ({
  deploymentId: DEPLOYMENT_ID,
  workloadId: WORKLOAD_ID,
  workload: 'nightly-etl',
  domain: 'analytics',
  status,
  reasons: status === 'failed' ? ['db_password (MANAGED:analytics:db_password): not found [secret.not_found]'] : [],
});
const managedChange: SecretChanged = {
  scope: 'global',
  key: 'shared.token',
  source: 'MANAGED',
  version: 4,
  change: 'deleted',
  by: 'admin',
};
const vaultChange: SecretChanged = {
  scope: '2b4c6d8e-0a1b-4c3d-8e5f-6a7b8c9d0e1f',
  domain: 'analytics',
  key: 'warehouse',
  source: 'VAULT',
  version: 12,
  change: 'updated',
  by: 'vault-watch',
};
const due: SecretRotationDue = {
  scope: 'analytics',
  domain: 'analytics',
  key: 'db_password',
  source: 'MANAGED',
  version: 3,
  rotateEvery: '36h',
  versionCreatedAt: '2026-11-28T10:00:00.000Z',
  dueSince: '2026-11-29T22:00:00.000Z',
};

const deployer = (type: string, subject: string, id: string) => ({ id, type, subject, source: 'latchkey/deployer' });
const catalog = (type: string, subject: string, id: string) => ({ id, type, subject, source: 'latchkey/catalog' });

test('every public event as the publishing code builds it (payload types, eventHeaders with a trace) is as documented', async () => {
  const messages = [
    await published(deployer(eventTypes.stale, subjects.stale('analytics'), 'stale:e1:analytics:0'), stale),
    await published(
      deployer(eventTypes.deployed, subjects.deployed('analytics'), `deployed:${DEPLOYMENT_ID}`),
      outcome('deployed'),
    ),
    await published(
      deployer(eventTypes.failed, subjects.failed('analytics'), `failed:${DEPLOYMENT_ID}`),
      outcome('failed'),
    ),
    await published(
      catalog(eventTypes.secretChanged, subjects.secretChanged('global'), 'secret.deleted:global/shared.token/4'),
      managedChange,
    ),
    await published(
      catalog(eventTypes.secretChanged, subjects.secretChanged('analytics'), 'secret.updated:vault:x/warehouse/12'),
      vaultChange,
    ),
    await published(
      catalog(
        eventTypes.secretRotationDue,
        subjects.secretRotationDue('analytics'),
        'secret.rotation_due:analytics/db_password/3',
      ),
      due,
    ),
  ];
  for (const m of messages) {
    assert.match(m.headers.traceparent ?? '', /^00-/, 'a traceparent was written');
    assert.deepEqual(contract.check(m)?.problems, [], m.subject);
  }
});

test('a payload with an undocumented field, or without a required one, is refused naming the subject, the message id and the field', async () => {
  const subject = subjects.stale('analytics');
  const id = 'stale:e2:analytics:0';
  const ev = deployer(eventTypes.stale, subject, id);

  const extra = contract.check(await published(ev, { ...stale, value: 'x' }));
  assert.deepEqual(extra?.problems, [
    `${subject} message ${id} (stream seq 7): payload: must NOT have additional properties ("value" is not documented)`,
  ]);
  const nestedExtra = contract.check(await published(ev, { ...stale, changed: { ...stale.changed, by: 'x' } }));
  assert.deepEqual(nestedExtra?.problems, [
    `${subject} message ${id} (stream seq 7): payload at /changed: must NOT have additional properties ("by" is not documented)`,
  ]);
  const entryExtra = contract.check(
    await published(ev, { ...stale, workloads: [stale.workloads[0], { ...stale.workloads[1], value: 'x' }] }),
  );
  assert.deepEqual(entryExtra?.problems, [
    `${subject} message ${id} (stream seq 7): payload at /workloads/1: must NOT have additional properties ("value" is not documented)`,
  ]);
  const none = contract.check(await published(ev, { ...stale, workloads: [] }));
  assert.match(none?.problems.join('\n') ?? '', /payload at \/workloads: must NOT have fewer than 1 items/);
  const tooMany = Array.from({ length: STALE_WORKLOADS_PER_EVENT + 1 }, () => stale.workloads[0]);
  const over = contract.check(await published(ev, { ...stale, workloads: tooMany }));
  assert.match(
    over?.problems.join('\n') ?? '',
    new RegExp(`payload at /workloads: must NOT have more than ${STALE_WORKLOADS_PER_EVENT} items`),
  );
  const { changed: _c, ...withoutChanged } = stale;
  const missing = contract.check(await published(ev, withoutChanged));
  assert.deepEqual(missing?.problems, [
    `${subject} message ${id} (stream seq 7): payload: must have required property 'changed'`,
  ]);
  const wrongType = contract.check(await published(ev, { ...stale, changed: { ...stale.changed, change: 'moved' } }));
  assert.match(
    wrongType?.problems[0] ?? '',
    /payload at \/changed\/change: must be equal to one of the allowed values/,
  );

  const d = deployer(eventTypes.deployed, subjects.deployed('analytics'), 'deployed:x');
  const { reasons: _r, ...noReasons } = outcome('deployed');
  assert.match(
    contract.check(await published(d, noReasons))?.problems.join('\n') ?? '',
    /latchkey\.workload\.deployed\.analytics message deployed:x \(stream seq 7\): payload: must have required property 'reasons'/,
  );
  // A failed outcome on the deployed subject: status and ce-type say otherwise.
  const misfiled = contract.check(await published({ ...d, type: eventTypes.failed }, outcome('failed')));
  assert.deepEqual(misfiled?.problems, [
    `latchkey.workload.deployed.analytics message deployed:x (stream seq 7): headers at /ce-type: must be equal to constant ("${eventTypes.deployed}")`,
    `latchkey.workload.deployed.analytics message deployed:x (stream seq 7): payload at /status: must be equal to constant ("deployed")`,
  ]);
});

test("an event on another domain's subject, from another producer, without CloudEvents headers or not JSON is refused", async () => {
  const onFinance = contract.check(
    await published(deployer(eventTypes.stale, subjects.stale('finance'), 'stale:1'), stale),
  );
  assert.deepEqual(onFinance?.problems, [
    `latchkey.workload.stale.finance message stale:1 (stream seq 7): the subject's {domain} is "finance" but $message.payload#/domain is "analytics"`,
  ]);
  const fromCatalog = contract.check(
    await published(catalog(eventTypes.stale, subjects.stale('analytics'), 'stale:2'), stale),
  );
  assert.match(
    fromCatalog?.problems.join('\n') ?? '',
    /headers at \/ce-source: must be equal to constant \("latchkey\/deployer"\)/,
  );
  const bare = contract.check({ subject: subjects.secretChanged('analytics'), headers: {}, data: '{}', seq: 3 });
  assert.match(
    bare?.problems.join('\n') ?? '',
    /latchkey\.secret\.changed\.analytics message \(no ce-id\) \(stream seq 3\): headers: must have required property 'ce-id'/,
  );
  const notJson = contract.check({ subject: subjects.failed('analytics'), headers: { 'ce-id': 'f' }, data: 'probe' });
  assert.deepEqual(notJson?.problems, ['latchkey.workload.failed.analytics message f: the body is not JSON']);
  const relabelled = await published(
    catalog(eventTypes.secretRotationDue, subjects.secretRotationDue('analytics'), 'r'),
    due,
  );
  relabelled.headers['Nats-Msg-Id'] = 'other';
  assert.deepEqual(contract.check(relabelled)?.problems, [
    'latchkey.secret.rotation_due.analytics message r (stream seq 7): header Nats-Msg-Id is "other", not the event id',
  ]);
});
