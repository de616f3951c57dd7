import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import {
  eventTypes,
  publishEvent,
  STREAM_EVENTS,
  STREAMS,
  subjects,
  type SecretChanged,
  type WorkloadStale,
} from '@latchkey/events';
import { ensureStream } from '@latchkey/nats';
import { startTestBus } from '@latchkey/testing';
import { publicEventProblems } from './event-contract.js';

// The check every end-to-end test runs at cleanup (startSystem): each public event in the
// events stream against the AsyncAPI document. Here on a bare JetStream, with events
// published the way the services publish them, to show what it reports.

test('the end-of-test event check reports each public event that gains an undocumented field or loses a required one, naming subject, message id and error, and ignores internal subjects', async (t) => {
  const { nc, jsm } = await startTestBus(t);
  await ensureStream(
    jsm,
    STREAMS.find((s) => s.name === STREAM_EVENTS)!,
  );
  const js = nc.jetstream();

  const stale: WorkloadStale = {
    domain: 'analytics',
    changed: { scope: 'analytics', key: 'db_password', currentVersion: 2, change: 'updated' },
    workloads: [{ workloadId: randomUUID(), workload: 'nightly-etl', deployedVersion: 1, redeployMode: 'manual' }],
  };
  const changed: SecretChanged = {
    scope: 'analytics',
    key: 'db_password',
    source: 'MANAGED',
    version: 2,
    change: 'updated',
    by: 'olive',
  };
  const publish = (source: string, id: string, type: string, subject: string, data: unknown) =>
    publishEvent(js, source, { id, type, subject, data });
  await publish('latchkey/deployer', 'stale:ok', eventTypes.stale, subjects.stale('analytics'), stale);
  await publish(
    'latchkey/catalog',
    'changed:ok',
    eventTypes.secretChanged,
    subjects.secretChanged('analytics'),
    changed,
  );
  await publish('latchkey/deployer', 'stale:extra', eventTypes.stale, subjects.stale('analytics'), {
    ...stale,
    note: 'undocumented',
  });
  const { by: _by, ...withoutBy } = changed;
  await publish(
    'latchkey/catalog',
    'changed:missing',
    eventTypes.secretChanged,
    subjects.secretChanged('analytics'),
    withoutBy,
  );
  // Internal subjects are not the document's: a deploying event is not checked.
  await publish('latchkey/deployer', 'deploying:x', eventTypes.deploying, subjects.deploying('analytics'), { a: 1 });
  // A raw message on a public subject, without CloudEvents headers.
  await js.publish(subjects.failed('analytics'), '{}');
  // A deleted message leaves a gap in the sequence, which is skipped.
  await publish('latchkey/deployer', 'stale:deleted', eventTypes.stale, subjects.stale('analytics'), { bad: true });
  const { state } = await jsm.streams.info(STREAM_EVENTS);
  assert.equal(await jsm.streams.deleteMessage(STREAM_EVENTS, state.last_seq), true);
  await publish('latchkey/deployer', 'stale:last', eventTypes.stale, subjects.stale('analytics'), stale);

  const { checked, problems } = await publicEventProblems(nc);
  assert.equal(checked, 6, 'the six messages on public subjects still in the stream were checked');
  assert.deepEqual(problems, [
    'latchkey.workload.stale.analytics message stale:extra (stream seq 3): payload: must NOT have additional properties ("note" is not documented)',
    "latchkey.secret.changed.analytics message changed:missing (stream seq 4): payload: must have required property 'by'",
    "latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): headers: must have required property 'ce-specversion'",
    "latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): headers: must have required property 'ce-id'",
    "latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): headers: must have required property 'ce-source'",
    "latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): headers: must have required property 'ce-type'",
    "latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): headers: must have required property 'ce-time'",
    "latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): headers: must have required property 'ce-subject'",
    "latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): headers: must have required property 'content-type'",
    "latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): payload: must have required property 'deploymentId'",
    "latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): payload: must have required property 'workloadId'",
    "latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): payload: must have required property 'workload'",
    "latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): payload: must have required property 'domain'",
    "latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): payload: must have required property 'status'",
    "latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): payload: must have required property 'reasons'",
    `latchkey.workload.failed.analytics message (no ce-id) (stream seq 6): the subject's {domain} is "analytics" but $message.payload#/domain is undefined`,
  ]);
});
