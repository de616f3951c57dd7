import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { connect, type JetStreamManager } from 'nats';
import {
  auditRecord,
  eventHeaders,
  OutboxRelay,
  STREAM_AUDIT,
  STREAMS,
  type AuditInput,
  type AuditRecord,
} from '@latchkey/events';
import { RasAuthorizer, unary } from '@latchkey/grpc';
import { silentLogger } from '@latchkey/logger';
import { ConsumerRunner, ensureConsumer, ensureStream } from '@latchkey/nats';
import type { ListAuditRequest, ListAuditResponse, RasServiceClient } from '@latchkey/proto';
import { startTestBus, startTestNats, waitFor } from '@latchkey/testing';
import { AUDIT_CONSUMER, AUDIT_SUBJECTS, auditConsumer } from '../src/transport/events/audit-consumer.js';
import { admin, person, startRas, type Ras, usePostgres, errorOf } from './ras-fixture.js';

const postgres = usePostgres();

const olive = person('olive');

/** analytics: owner olive, member mia. finance: no one. */
async function world(ras: Ras): Promise<void> {
  await ras.domains.create(admin, 'analytics');
  await ras.domains.create(admin, 'finance');
  await ras.grants.grant(admin, 'analytics', { kind: 'user', id: 'olive' }, 'owner');
  await ras.grants.grant(admin, 'analytics', { kind: 'user', id: 'mia' }, 'member');
}

/** The fields a test cares about, in a stable shape. */
const brief = (r: AuditRecord) => [r.service, r.actor, r.action, r.domain, r.resource, r.outcome];

async function listAudit(c: RasServiceClient, req: Partial<ListAuditRequest>): Promise<ListAuditResponse> {
  return unary(c.listAudit.bind(c), { domain: '', since: '', actor: '', limit: 0, pageToken: '', ...req });
}

test('every Check and CheckBatch question is one decision record, allow or deny, with the request id the service sent', async (t) => {
  const ras = await startRas(t, postgres());
  await world(ras);
  ras.decisions.length = 0;
  const authorizer = new RasAuthorizer(ras.address, 'resolver-token');
  t.after(() => authorizer.close());

  const use = { principal: 'mia', action: 'secret.use', domain: 'analytics', resource: 'db_password' };
  assert.equal((await authorizer.check({ ...use, requestId: 'req-one' })).allowed, true);
  const batch = await authorizer.checkBatch([
    { ...use, requestId: 'req-two' },
    { ...use, action: 'secret.manage', requestId: 'req-two' },
    { ...use, principal: 'fred', domain: 'finance', requestId: 'req-two' },
    { ...use, principal: 'gina', groups: ['data-eng'], scope: 'global', requestId: 'req-two' },
  ]);
  assert.deepEqual(
    batch.map((d) => d.allowed),
    [true, false, false, false],
  );

  assert.deepEqual(ras.decisions.map(brief), [
    ['ras', 'mia', 'secret.use', 'analytics', 'db_password', 'allow'],
    ['ras', 'mia', 'secret.use', 'analytics', 'db_password', 'allow'],
    ['ras', 'mia', 'secret.manage', 'analytics', 'db_password', 'deny'],
    ['ras', 'fred', 'secret.use', 'finance', 'db_password', 'deny'],
    ['ras', 'gina', 'secret.use', 'analytics', 'db_password (scope global)', 'deny'],
  ]);
  assert.deepEqual(
    ras.decisions.map((r) => r.requestId),
    ['req-one', 'req-two', 'req-two', 'req-two', 'req-two'],
  );
  const [allowed, , lacking, stranger, byGroup] = ras.decisions;
  assert.equal(allowed?.reason, '');
  assert.match(lacking?.reason ?? '', /^ras\.permission_denied: mia may not secret\.manage in domain analytics/);
  assert.match(stranger?.reason ?? '', /^ras\.permission_denied: fred may not secret\.use in domain finance/);
  assert.deepEqual(byGroup?.groups, ['data-eng']);
  assert.equal(new Set(ras.decisions.map((r) => r.id)).size, 5, 'each record has its own id');
  for (const r of ras.decisions) assert.ok(Math.abs(Date.parse(r.at) - Date.now()) < 60_000, r.at);

  // Without a request id from the service, the record carries the Check call's own.
  ras.decisions.length = 0;
  await authorizer.check(use);
  assert.match(ras.decisions[0]?.requestId ?? '', /^[0-9a-f-]{36}$/);
});

test("ras's own RPCs audit their decisions, denials included, with the caller's request id", async (t) => {
  const ras = await startRas(t, postgres());
  await world(ras);
  ras.decisions.length = 0;
  const fred = ras.client('fred-token');
  const err = await errorOf(
    unary(fred.grantDomainRole.bind(fred), {
      domain: 'analytics',
      grantee: { kind: 'user', id: 'fred' },
      role: 'owner',
    }),
  );
  assert.equal(err.code, 'ras.permission_denied');
  await errorOf(unary(fred.createDomain.bind(fred), { name: 'fred-land' }));
  assert.deepEqual(ras.decisions.map(brief), [
    ['ras', 'fred', 'grant.manage', 'analytics', '', 'deny'],
    ['ras', 'fred', 'domain.create', 'fred-land', '', 'deny'],
  ]);
  assert.match(ras.decisions[0]?.requestId ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(await ras.changeRecords().then((rs) => rs.filter((r) => r.actor === 'fred').length), 0);
});

test('domain, grant and bundle changes write their audit record in the change transaction, and a failed change none', async (t) => {
  const ras = await startRas(t, postgres());
  await world(ras);
  const withId = { ...olive, requestId: 'req-olive' };
  await ras.grants.grant(withId, 'analytics', { kind: 'user', id: 'mia' }, 'maintainer');
  await ras.bundles.create(withId, 'analytics', 'team-vault');
  await ras.bundles.grant(withId, 'analytics', 'team-vault', { kind: 'group', id: 'data-eng' }, ['USE', 'VIEW']);
  await ras.bundles.revoke(withId, 'analytics', 'team-vault', { kind: 'group', id: 'data-eng' }, ['VIEW']);
  await ras.grants.revoke(withId, 'analytics', { kind: 'user', id: 'mia' }, '');
  // Changes that change nothing, or fail, write nothing.
  await ras.grants.grant(withId, 'analytics', { kind: 'user', id: 'olive' }, 'owner');
  await assert.rejects(ras.grantRepo.put('nowhere', { kind: 'user', id: 'mia' }, 'member', admin), /database error/);

  const records = await ras.changeRecords();
  assert.deepEqual(
    records.map((r) => [...brief(r), r.reason]),
    [
      ['ras', 'admin', 'domain.create', 'analytics', 'domain:analytics', 'ok', ''],
      ['ras', 'admin', 'domain.create', 'finance', 'domain:finance', 'ok', ''],
      ['ras', 'admin', 'domain.grant', 'analytics', 'user olive', 'ok', 'role owner'],
      ['ras', 'admin', 'domain.grant', 'analytics', 'user mia', 'ok', 'role member'],
      ['ras', 'olive', 'domain.grant', 'analytics', 'user mia', 'ok', 'role maintainer (was member)'],
      ['ras', 'olive', 'bundle.create', 'analytics', 'bundle:team-vault', 'ok', ''],
      ['ras', 'olive', 'bundle.grant', 'analytics', 'bundle:team-vault', 'ok', 'group data-eng: VIEW, USE'],
      ['ras', 'olive', 'bundle.revoke', 'analytics', 'bundle:team-vault', 'ok', 'group data-eng: VIEW'],
      ['ras', 'olive', 'domain.revoke', 'analytics', 'user mia', 'ok', 'role maintainer'],
    ],
  );
  assert.deepEqual(
    records.slice(4).map((r) => r.requestId),
    Array<string>(5).fill('req-olive'),
  );
  // Each record sits in the outbox on its audit subject, beside the policy.changed event of the same change.
  const { rows } = await ras.pool.query<{ subject: string }>(
    "SELECT subject FROM outbox WHERE subject LIKE 'latchkey.audit.%' ORDER BY seq",
  );
  assert.deepEqual(
    [...new Set(rows.map((r) => r.subject))],
    ['latchkey.audit.ras.analytics', 'latchkey.audit.ras.finance'],
  );
  assert.equal((await ras.outbox()).length, records.length);
});

/** Stores records as the audit consumer does. */
async function store(ras: Ras, inputs: Partial<AuditInput>[]): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (const i of inputs) {
    const r = auditRecord({
      service: 'catalog',
      actor: 'olive',
      action: 'secret.put',
      domain: 'analytics',
      resource: 'secret:db_password',
      outcome: 'ok',
      ...i,
    });
    assert.equal(await ras.audit.store(r), true);
    out.push(r);
  }
  return out;
}

test('ListAudit: platform admins read everything, owners their domain, with since, actor and pages', async (t) => {
  const ras = await startRas(t, postgres());
  await world(ras);
  const base = Date.parse('2030-01-01T00:00:00Z');
  const at = (min: number) => new Date(base + min * 60_000);
  const stored = await store(ras, [
    { at: at(1), domain: 'analytics', actor: 'olive' },
    { at: at(2), domain: 'finance', actor: 'admin' },
    { at: at(3), domain: 'global', actor: 'admin', resource: 'secret:shared' },
    { at: at(4), domain: 'analytics', actor: 'mia', action: 'secret.use', outcome: 'deny', service: 'ras' },
    { at: at(5), domain: 'analytics', actor: 'olive', action: 'secret.delete' },
  ]);
  const [a1, f2, g3, a4, a5] = stored;
  const ids = (res: ListAuditResponse) => res.records.map((r) => r.id);
  const adminC = ras.client('admin-token');
  const oliveC = ras.client('olive-token');
  const since = at(0).toISOString();

  // A platform admin: everything (newest first), one domain, or global.
  assert.deepEqual(
    ids(await listAudit(adminC, { since })),
    [a5, a4, g3, f2, a1].map((r) => r?.id),
  );
  assert.deepEqual(ids(await listAudit(adminC, { domain: 'finance', since })), [f2?.id]);
  assert.deepEqual(ids(await listAudit(adminC, { domain: 'global', since })), [g3?.id]);

  // The owner of analytics: analytics only, filtered by actor and time.
  assert.deepEqual(
    ids(await listAudit(oliveC, { domain: 'analytics', since })),
    [a5, a4, a1].map((r) => r?.id),
  );
  assert.deepEqual(ids(await listAudit(oliveC, { domain: 'analytics', since, actor: 'mia' })), [a4?.id]);
  assert.deepEqual(
    ids(await listAudit(oliveC, { domain: 'analytics', since: at(4).toISOString() })),
    [a5, a4].map((r) => r?.id),
  );
  const entry = (await listAudit(oliveC, { domain: 'analytics', since, actor: 'mia' })).records[0];
  assert.deepEqual(entry, {
    id: a4?.id,
    at: at(4).toISOString(),
    service: 'ras',
    actor: 'mia',
    groups: [],
    action: 'secret.use',
    domain: 'analytics',
    resource: 'secret:db_password',
    outcome: 'deny',
    reason: '',
    requestId: '',
  });

  // Pages of two: every record once, in order, and an empty token on the last page.
  const seen: string[] = [];
  let pageToken = '';
  let pages = 0;
  do {
    const page = await listAudit(adminC, { since, limit: 2, pageToken });
    seen.push(...ids(page));
    pageToken = page.nextPageToken;
    pages++;
    assert.ok(pages <= 3, 'paging ends');
  } while (pageToken !== '');
  assert.equal(pages, 3);
  assert.deepEqual(
    seen,
    [a5, a4, g3, f2, a1].map((r) => r?.id),
  );

  // Bad input says what is wrong.
  const bad = async (req: Partial<ListAuditRequest>, code: string) =>
    assert.equal((await errorOf(listAudit(adminC, req))).code, code);
  await bad({ since: 'yesterday' }, 'audit.invalid_since');
  await bad({ limit: 1001 }, 'audit.invalid_limit');
  await bad({ limit: -1 }, 'audit.invalid_limit');
  await bad({ pageToken: 'not-a-token' }, 'audit.invalid_page_token');
  await bad({ domain: 'Not A Domain' }, 'domain.invalid_name');
});

test('ListAudit: members, strangers and services are refused, strangers alike whether the domain exists or not', async (t) => {
  const ras = await startRas(t, postgres());
  await world(ras);
  await store(ras, [{ domain: 'analytics' }, { domain: 'finance' }]);
  const miaC = ras.client('mia-token');
  const fredC = ras.client('fred-token');
  const resolverC = ras.client('resolver-token');

  // mia is a member of analytics: she may use its secrets but not read its audit.
  const member = await errorOf(listAudit(miaC, { domain: 'analytics' }));
  assert.equal(member.code, 'ras.permission_denied');
  assert.match(member.message, /needs READ_AUDIT, which owners hold; mia is member there/);
  // Nobody but a platform admin reads every domain's (or the global) audit.
  for (const domain of ['', 'global']) {
    const all = await errorOf(listAudit(ras.client('olive-token'), { domain }));
    assert.equal(all.code, 'ras.permission_denied');
    assert.match(all.message, /only platform admins may/);
  }
  // fred holds nothing: finance (exists) and nowhere (does not) answer alike.
  for (const c of [fredC, miaC]) {
    const existing = await errorOf(listAudit(c, { domain: 'finance' }));
    const missing = await errorOf(listAudit(c, { domain: 'nowhere' }));
    assert.equal(existing.code, 'ras.permission_denied');
    assert.deepEqual(
      { code: missing.code, kind: missing.kind, message: missing.message.replaceAll('nowhere', 'finance') },
      { code: existing.code, kind: existing.kind, message: existing.message },
    );
  }
  const svc = await errorOf(listAudit(resolverC, { domain: 'analytics' }));
  assert.equal(svc.code, 'auth.forbidden_caller');
  // Every refusal is itself a decision on record.
  assert.ok(ras.decisions.some((r) => r.actor === 'fred' && r.action === 'audit.read' && r.outcome === 'deny'));
  assert.ok(ras.decisions.some((r) => r.actor === 'mia' && r.action === 'audit.read' && r.outcome === 'deny'));
});

interface Pipeline {
  ras: Ras;
  jsm: JetStreamManager;
  /** Publishes raw data on an audit subject, with its own Nats-Msg-Id. */
  publishRaw(subject: string, data: unknown): Promise<void>;
}

/** ras with its audit path on a private nats-server: decisions and changes relayed from the outbox, the consumer storing. */
async function pipeline(t: TestContext): Promise<Pipeline> {
  const nats = await startTestNats();
  const nc = await connect({ servers: nats.url });
  const jsm = await nc.jetstreamManager();
  for (const s of STREAMS) await ensureStream(jsm, s);
  await ensureConsumer(jsm, { stream: STREAM_AUDIT, durable: AUDIT_CONSUMER, filterSubjects: AUDIT_SUBJECTS });
  const js = nc.jetstream();
  const relayed: { relay?: OutboxRelay } = {};
  const ras = await startRas(t, postgres(), { durableDecisions: true, onCommit: () => relayed.relay?.kick() });
  const relay = new OutboxRelay({ pool: ras.pool, js, logger: silentLogger, source: 'latchkey/ras', idleMs: 20 });
  relayed.relay = relay;
  relay.start();
  const runner = new ConsumerRunner({
    js,
    stream: STREAM_AUDIT,
    durable: AUDIT_CONSUMER,
    handler: auditConsumer(ras.audit),
    logger: silentLogger,
  });
  await runner.start();
  t.after(async () => {
    await runner.stop();
    await relay.stop();
    await nc.close();
    await nats.stop();
  });
  return {
    ras,
    jsm,
    async publishRaw(subject, data) {
      const id = randomUUID();
      await js.publish(subject, JSON.stringify(data), {
        msgID: id,
        headers: eventHeaders({
          id,
          source: 'latchkey/test',
          type: 'dev.latchkey.audit.v1',
          subject,
          time: new Date().toISOString(),
        }),
      });
    },
  };
}

/** Stored records, leaving out the decisions about reading the audit (each ListAudit of the test adds one). */
const storedCount = async (ras: Ras) =>
  Number(
    (await ras.pool.query<{ n: string }>("SELECT count(*) AS n FROM audit_records WHERE action NOT LIKE 'audit.%'"))
      .rows[0]?.n,
  );

test('the audit consumer stores decisions and changes from the stream once each, and refuses malformed records', async (t) => {
  const { ras, jsm, publishRaw } = await pipeline(t);
  await world(ras);
  const authorizer = new RasAuthorizer(ras.address, 'resolver-token');
  t.after(() => authorizer.close());
  await authorizer.check({ principal: 'mia', action: 'secret.use', domain: 'analytics', requestId: 'req-9' });
  await authorizer.check({ principal: 'fred', action: 'secret.use', domain: 'analytics', requestId: 'req-9' });

  const adminC = ras.client('admin-token');
  const stored = await waitFor(
    async () => {
      const res = await listAudit(adminC, { domain: 'analytics', limit: 100 });
      return res.records.filter((r) => r.requestId === 'req-9').length === 2 &&
        res.records.filter((r) => r.action === 'domain.grant').length === 2
        ? res.records
        : undefined;
    },
    { what: 'decisions and changes in the audit table' },
  );
  assert.deepEqual(
    stored
      .filter((r) => r.requestId === 'req-9')
      .map((r) => [r.actor, r.outcome])
      .sort(),
    [
      ['fred', 'deny'],
      ['mia', 'allow'],
    ],
  );

  // A record delivered again (another message, the same record id) is stored once.
  const settled = () =>
    waitFor(
      async () => {
        const i = await jsm.consumers.info(STREAM_AUDIT, AUDIT_CONSUMER);
        return i.num_pending === 0 && i.num_ack_pending === 0 && i;
      },
      { what: 'the audit consumer to settle' },
    );
  await settled();
  const before = await storedCount(ras);
  const again = stored.find((r) => r.actor === 'mia' && r.requestId === 'req-9');
  assert.ok(again);
  await publishRaw('latchkey.audit.ras.analytics', { ...again, groups: undefined });
  // A malformed record is refused for good; the one after it is stored.
  await publishRaw('latchkey.audit.ras.analytics', { id: 'x', actor: 'mallory' });
  const marker = auditRecord({
    service: 'ras',
    actor: 'marker',
    action: 'secret.use',
    domain: 'analytics',
    outcome: 'allow',
  });
  await publishRaw('latchkey.audit.ras.analytics', marker);
  await waitFor(async () => (await listAudit(adminC, { actor: 'marker' })).records.length === 1, {
    what: 'the marker record',
  });
  const info = await settled();
  assert.equal(info.num_redelivered, 0);
  assert.equal(await storedCount(ras), before + 1, 'only the marker was added');
  assert.equal((await listAudit(adminC, { actor: 'mallory' })).records.length, 0);
});

test("decisions wait for ras's outbox, not for the audit stream: while it is gone the records stay in the outbox, and all reach it once it is back", async (t) => {
  const { nc, jsm } = await startTestBus(t);
  const relayed: { relay?: OutboxRelay } = {};
  const ras = await startRas(t, postgres(), { durableDecisions: true, onCommit: () => relayed.relay?.kick() });
  await world(ras);
  // No LATCHKEY_AUDIT stream yet: nothing can take the records.
  const relay = new OutboxRelay({
    pool: ras.pool,
    js: nc.jetstream({ timeout: 1000 }),
    logger: silentLogger,
    source: 'latchkey/ras',
    idleMs: 20,
  });
  relayed.relay = relay;
  relay.start();
  t.after(() => relay.stop());
  const kicks = ras.kicks();
  const questions = Array.from({ length: 40 }, (_, i) => ({
    principal: `user-${i}`,
    groups: [],
    action: 'secret.use',
    domain: 'analytics',
    scope: '',
    resource: 'db_password',
  }));
  const answers = await ras.domains.checkBatch(
    questions,
    questions.map(() => 'req-outage'),
  );
  assert.equal(answers.length, 40, 'answered while the stream is gone');
  assert.equal(ras.kicks(), kicks + 1, 'the batch is one write');
  const waiting = async () =>
    (
      await ras.pool.query<{ id: string }>(
        "SELECT id FROM outbox WHERE subject LIKE 'latchkey.audit.ras.%' AND data->>'requestId' = 'req-outage' AND published_at IS NULL",
      )
    ).rows.map((r) => r.id);
  assert.equal((await waiting()).length, 40, 'every record is in the outbox before the answer');

  for (const s of STREAMS) await ensureStream(jsm, s);
  await waitFor(async () => (await waiting()).length === 0, {
    what: 'the outbox relayed every decision record',
    timeoutMs: 15_000,
  });
  const info = await jsm.streams.info(STREAM_AUDIT);
  const ids: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const r = JSON.parse((await jsm.streams.getMessage(STREAM_AUDIT, { seq })).string()) as AuditRecord;
    if (r.requestId === 'req-outage') ids.push(r.id);
  }
  assert.equal(ids.length, 40, 'each record once in the audit stream');
  assert.equal(new Set(ids).size, 40);
});

test('ras does not fail open: when the records of a batch cannot be stored, the batch is not answered (audit.unavailable, retryable)', async (t) => {
  const ras = await startRas(t, postgres(), { durableDecisions: true });
  await world(ras);
  const decided = ras.decisions.length;
  await ras.pool.query('ALTER TABLE outbox RENAME TO outbox_gone');
  const q = { principal: 'mia', groups: [], action: 'secret.use', domain: 'analytics', scope: '', resource: 'k' };
  const err = await errorOf(ras.domains.checkBatch([q, { ...q, principal: 'fred' }]));
  assert.equal(err.code, 'audit.unavailable');
  assert.equal(err.retryable, true);
  assert.match(err.message, /the decision was not answered: its audit record could not be stored/);
  assert.equal((await errorOf(ras.domains.check(q))).code, 'audit.unavailable');
  assert.equal(ras.decisions.length, decided, 'no answer went out unrecorded');
});

test('audit records stored at the same time go in few statements, each caller told whether its record was new', async (t) => {
  const ras = await startRas(t, postgres());
  const record = (i: number) =>
    auditRecord({
      service: 'deployer',
      actor: `actor-${i}`,
      ...(i % 3 === 0 ? { groups: [`g-${i}`, 'data team'] } : {}),
      action: 'workload.deploy',
      domain: 'analytics',
      resource: `workload:w${i}`,
      outcome: 'ok',
      reason: `reason ${i}`,
    });
  const earlier = record(0);
  assert.equal(await ras.audit.store(earlier), true);
  const query = ras.pool.query.bind(ras.pool) as (...args: unknown[]) => unknown;
  let inserts = 0;
  (ras.pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    if (String(args[0]).includes('INSERT INTO audit_records')) inserts++;
    return query(...args);
  };
  const fresh = Array.from({ length: 30 }, (_, i) => record(i + 1));
  const twice = fresh[4]!;
  const answers = await Promise.all([...fresh, earlier, twice].map((r) => ras.audit.store(r)));
  assert.deepEqual(answers, [...fresh.map(() => true), false, false], 'a redelivered record is not new');
  assert.ok(inserts <= 2, `31 records took ${inserts} statements`);
  const { rows } = await ras.pool.query<{ id: string; groups: string[]; actor: string; at: Date }>(
    "SELECT id, groups, actor, at FROM audit_records WHERE service = 'deployer' ORDER BY actor",
  );
  assert.equal(rows.length, 31);
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const r of [earlier, ...fresh]) {
    const row = byId.get(r.id);
    assert.deepEqual(row?.groups, r.groups ?? [], `groups of ${r.actor}`);
    assert.equal(row?.at.toISOString(), r.at);
  }
});
