import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { generateSealKeyPair, open } from '@latchkey/crypto';
import { type LatchkeyError, unavailable } from '@latchkey/errors';
import {
  connectionTestBinding,
  type AuditRecord,
  type PlanReply,
  type PlanRequest,
  type ReferenceSpec,
  type WorkloadDeploying,
  type WorkloadResolutionFailed,
  type WorkloadResolutionRetrying,
  type WorkloadResolved,
} from '@latchkey/events';
import { silentLogger } from '@latchkey/logger';
import { FakeAuthorizer } from '@latchkey/testing';
import type {
  AuditTrail,
  KeyPresenceResult,
  ResolutionPublisher,
  ValueRead,
  ValueReadResult,
  ValueSource,
} from '../src/domain/ports.js';
import { ResolutionService } from '../src/domain/resolution-service.js';
import { startPlanResponder } from '../src/transport/nats/plan-responder.js';
import {
  askPlan,
  deployerSigning,
  deployingEvent,
  legacy,
  managed,
  opener,
  startBus,
  vault,
  VAULT_ID,
} from './resolver-fixture.js';

interface Entry {
  scope: string;
  version: number;
  value: string;
  shadowedGlobal?: boolean;
}

/**
 * The catalog's internal read, faked: answers from `entries` by key; a key
 * in `errors` answers that error code; `down` makes the whole call fail as
 * an unreachable catalog does. Remembers each call and every value handed out.
 */
class FakeValues implements ValueSource {
  readonly calls: { kind: 'read' | 'findKeys'; items: ValueRead[] }[] = [];
  /** The deployment id of each read (undefined for reads that are for no deployment). */
  readonly readFor: (string | undefined)[] = [];
  readonly handedOut: Buffer[] = [];
  readonly bundleLookups: { domain: string; ids: string[] }[] = [];
  down = false;
  /** The Vault integrations of analytics, by id: their bundles. */
  bundles = new Map([[VAULT_ID, 'team-vault']]);
  constructor(
    readonly entries: Record<string, Entry>,
    readonly errors: Record<string, string> = {},
  ) {}
  integrationBundles(domain: string, ids: string[]): Promise<Map<string, string>> {
    this.bundleLookups.push({ domain, ids });
    if (this.down) return Promise.reject(unavailable('grpc.unavailable', 'connect ECONNREFUSED 127.0.0.1:7402'));
    return Promise.resolve(
      new Map(
        ids.flatMap((id) => {
          const b = domain === 'analytics' ? this.bundles.get(id) : undefined;
          return b === undefined ? [] : [[id, b] as [string, string]];
        }),
      ),
    );
  }
  read(items: ValueRead[], deploymentId?: string): Promise<ValueReadResult[]> {
    this.readFor.push(deploymentId);
    return this.#answer('read', items, (i, e): ValueReadResult => {
      const value = Buffer.from(e.value);
      this.handedOut.push(value);
      return {
        refId: i.refId,
        found: true,
        scope: e.scope,
        version: e.version,
        value,
        shadowedGlobal: !!e.shadowedGlobal,
      };
    });
  }
  findKeys(items: ValueRead[]): Promise<KeyPresenceResult[]> {
    return this.#answer('findKeys', items, (i, e): KeyPresenceResult => ({
      refId: i.refId,
      found: true,
      scope: e.scope,
      version: e.version,
      shadowedGlobal: !!e.shadowedGlobal,
    }));
  }
  /** Each item's failure (its configured error, or not found), else `found(item, entry)`. */
  #answer<R>(
    kind: 'read' | 'findKeys',
    items: ValueRead[],
    found: (i: ValueRead, e: Entry) => R,
  ): Promise<(R | { refId: string; found: false; code: string; message: string })[]> {
    this.calls.push({ kind, items });
    if (this.down) return Promise.reject(unavailable('grpc.unavailable', 'connect ECONNREFUSED 127.0.0.1:7402'));
    return Promise.resolve(
      items.map((i) => {
        const code = this.errors[i.key];
        if (code)
          return { refId: i.refId, found: false as const, code, message: `reference ${i.key}: failed (${code})` };
        const e = this.entries[i.key];
        if (!e)
          return {
            refId: i.refId,
            found: false as const,
            code: 'secret.not_found',
            message: `secret ${i.key} not found`,
          };
        return found(i, e);
      }),
    );
  }
}

class RecordingPublisher implements ResolutionPublisher {
  readonly resolvedEvents: WorkloadResolved[] = [];
  readonly failedEvents: WorkloadResolutionFailed[] = [];
  readonly retryingEvents: WorkloadResolutionRetrying[] = [];
  resolved(ev: WorkloadResolved): Promise<void> {
    this.resolvedEvents.push(ev);
    return Promise.resolve();
  }
  failed(ev: WorkloadResolutionFailed): Promise<void> {
    this.failedEvents.push(ev);
    return Promise.resolve();
  }
  retrying(ev: WorkloadResolutionRetrying): Promise<void> {
    this.retryingEvents.push(ev);
    return Promise.resolve();
  }
  get all(): unknown[] {
    return [...this.resolvedEvents, ...this.failedEvents, ...this.retryingEvents];
  }
}

/** The service's log masker: what it holds now, and what it held when each audit record was written. */
class RecordingMasker {
  readonly held = new Set<string>();
  add(values: Iterable<string>): void {
    for (const v of values) this.held.add(v);
  }
  remove(values: Iterable<string>): void {
    for (const v of values) this.held.delete(v);
  }
}

class MemoryAudit implements AuditTrail {
  readonly records: AuditRecord[] = [];
  /** What the masker held at each write. */
  readonly maskedAtWrite: string[][] = [];
  masker: RecordingMasker | undefined;
  /** While set, every write fails (the audit stream is away). */
  failing = false;
  write(record: AuditRecord): Promise<void> {
    if (this.failing) return Promise.reject(new Error('audit stream unavailable'));
    this.records.push(record);
    this.maskedAtWrite.push([...(this.masker?.held ?? [])].sort());
    return Promise.resolve();
  }
}

const canary = (name: string) => `${name}-${randomBytes(8).toString('hex')}`;

function harness(
  values: FakeValues,
  opts: {
    deny?: string[];
    maxValueBytes?: number;
    maxTotalBytes?: number;
    secretsV2?: boolean;
    auditFailClosed?: boolean;
  } = {},
) {
  const authorizer = FakeAuthorizer.denyingResources(opts.deny ?? []);
  const publisher = new RecordingPublisher();
  const audit = new MemoryAudit();
  const masker = new RecordingMasker();
  audit.masker = masker;
  const keys = generateSealKeyPair();
  const service = new ResolutionService({
    authorizer,
    values,
    publisher,
    recipient: keys,
    audit,
    masker,
    auditFailClosed: opts.auditFailClosed ?? false,
    logger: silentLogger,
    ...(opts.maxValueBytes ? { maxValueBytes: opts.maxValueBytes } : {}),
    ...(opts.maxTotalBytes ? { maxTotalBytes: opts.maxTotalBytes } : {}),
    ...(opts.secretsV2 !== undefined ? { secretsV2: opts.secretsV2 } : {}),
  });
  return { authorizer, publisher, audit, masker, service, keys, opened: opener(keys) };
}

/** mia's plan request (`mode`) for `workload` in analytics. */
const analyticsPlan = (
  h: ReturnType<typeof harness>,
  mode: PlanRequest['mode'],
  workload: string,
  references: PlanRequest['references'],
) => h.service.plan({ mode, domain: 'analytics', workload, principal: 'mia', references });

const deploying = (references: ReferenceSpec[]): WorkloadDeploying => deployingEvent(references);

test('every reference form resolves with one batched ras check and one catalog read; a shadowing domain key is warned about', async () => {
  const secrets = { db: canary('db'), shared: canary('shared'), team: canary('team'), g: canary('g') };
  const values = new FakeValues({
    db_password: { scope: 'analytics', version: 2, value: secrets.db },
    api_token: { scope: 'analytics', version: 1, value: secrets.shared, shadowedGlobal: true },
    smtp: { scope: 'global', version: 4, value: secrets.g },
    team_key: { scope: VAULT_ID, version: 7, value: secrets.team },
  });
  const h = harness(values);
  const refs = [
    managed('db_password'),
    legacy('api_token'),
    legacy('smtp'),
    managed('smtp', 'global'),
    vault('team_key'),
  ];
  const ev = deploying(refs);
  await h.service.resolve(ev);

  assert.equal(h.authorizer.batches.length, 1, 'one batched permission check');
  assert.deepEqual(
    h.authorizer.batches[0]!.map((q) => [q.principal, q.action, q.domain, q.resource, q.scope ?? '']),
    [
      ...refs.map((r) => [
        'mia',
        'secret.use',
        'analytics',
        r.key,
        r.sourceId === 'global' && !r.legacy ? 'global' : '',
      ]),
      // The Vault reference needs USE on its integration's bundle too, in the same batch.
      ['mia', 'bundle.use', 'analytics', 'team-vault', ''],
    ],
  );
  assert.deepEqual(values.bundleLookups, [{ domain: 'analytics', ids: [VAULT_ID] }]);
  assert.equal(values.calls.length, 1, 'one read for every reference');
  assert.deepEqual(
    values.calls[0]!.items.map((i) => [i.refId, i.scope, i.fallbackToGlobal, i.sourceType ?? 'MANAGED']),
    [
      ['MANAGED:analytics:db_password', 'analytics', false, 'MANAGED'],
      ['LEGACY:api_token', 'analytics', true, 'MANAGED'],
      ['LEGACY:smtp', 'analytics', true, 'MANAGED'],
      ['MANAGED:global:smtp', 'global', false, 'MANAGED'],
      [`VAULT:${VAULT_ID}:team_key`, 'analytics', false, 'VAULT'],
    ],
  );
  assert.equal(h.publisher.failedEvents.length + h.publisher.retryingEvents.length, 0);
  const [resolved] = h.publisher.resolvedEvents;
  assert.ok(resolved);
  assert.deepEqual(
    resolved.versions.map((v) => [v.refId, v.scope, v.version]),
    [
      ['MANAGED:analytics:db_password', 'analytics', 2],
      ['LEGACY:api_token', 'analytics', 1],
      ['LEGACY:smtp', 'global', 4],
      ['MANAGED:global:smtp', 'global', 4],
      [`VAULT:${VAULT_ID}:team_key`, VAULT_ID, 7],
    ],
  );
  assert.deepEqual(h.opened(resolved), {
    'MANAGED:analytics:db_password': secrets.db,
    'LEGACY:api_token': secrets.shared,
    'LEGACY:smtp': secrets.g,
    'MANAGED:global:smtp': secrets.g,
    [`VAULT:${VAULT_ID}:team_key`]: secrets.team,
  });
  assert.deepEqual(resolved.warnings, [
    '${secrets.api_token} resolves to domain analytics\'s api_token, which shadows the global key of the same name: reference {"key": "api_token", "source": {"type": "MANAGED", "id": "global"}} to use the global one',
  ]);
  const outside = JSON.stringify({ versions: resolved.versions, warnings: resolved.warnings, audit: h.audit.records });
  for (const v of Object.values(secrets)) assert.ok(!outside.includes(v), 'no value outside the sealed box');
  assert.ok(
    values.handedOut.every((b) => b.every((x) => x === 0)),
    'the values read were wiped after sealing',
  );
});

test('with Secrets V2 off, a placeholder is asked of and read from global scope only, and a structured reference fails unread', async () => {
  const g = canary('g');
  const values = new FakeValues({ smtp: { scope: 'global', version: 3, value: g } });
  const h = harness(values, { secretsV2: false });
  await h.service.resolve(deploying([legacy('smtp')]));
  assert.deepEqual(
    h.authorizer.batches[0]!.map((q) => [q.action, q.domain, q.resource, q.scope ?? '']),
    [['secret.use', 'analytics', 'smtp', 'global']],
  );
  assert.deepEqual(
    values.calls[0]!.items.map((i) => [i.refId, i.scope, i.fallbackToGlobal]),
    [['LEGACY:smtp', 'global', false]],
    'never the domain first',
  );
  const [resolved] = h.publisher.resolvedEvents;
  assert.ok(resolved);
  assert.deepEqual(h.opened(resolved), { 'LEGACY:smtp': g });
  assert.deepEqual(resolved.warnings, []);

  // Structured references (managed or Vault): refused per reference, nothing read for them, no bundle looked up.
  const v1 = harness(new FakeValues({ smtp: { scope: 'global', version: 3, value: g } }), { secretsV2: false });
  const reads = new FakeValues({ smtp: { scope: 'global', version: 3, value: g } });
  const mixed = harness(reads, { secretsV2: false });
  await mixed.service.resolve(deploying([legacy('smtp'), managed('db_password'), vault('team_key')]));
  assert.deepEqual(mixed.publisher.resolvedEvents, []);
  const [failed] = mixed.publisher.failedEvents;
  assert.ok(failed);
  assert.deepEqual(
    failed.failures.map((f) => [f.refId, f.code]),
    [
      ['MANAGED:analytics:db_password', 'workload.secrets_v2_disabled'],
      [`VAULT:${VAULT_ID}:team_key`, 'workload.secrets_v2_disabled'],
    ],
  );
  assert.match(
    failed.failures[0]!.message,
    /Secrets V2 is off .*LATCHKEY_SECRETS_V2=true on the deployer and the resolver/,
  );
  assert.deepEqual(
    reads.calls.flatMap((c) => c.items.map((i) => i.refId)),
    ['LEGACY:smtp'],
  );
  assert.deepEqual(reads.bundleLookups, []);
  // A plan (dry run) says the same.
  const plan = await analyticsPlan(v1, 'dry_run', 'w', [managed('db_password')]);
  assert.ok(plan.ok);
  assert.deepEqual(
    plan.references.map((r) => [r.refId, r.ok, r.code]),
    [['MANAGED:analytics:db_password', false, 'workload.secrets_v2_disabled']],
  );
});

test('every failure is reported at once, per reference, and nothing is sealed: not found, not permitted, another domain, too large, integration unavailable', async () => {
  const big = canary('big').padEnd(300, 'x');
  const fine = canary('fine');
  const values = new FakeValues(
    {
      ok_key: { scope: 'analytics', version: 1, value: fine },
      big_key: { scope: 'analytics', version: 3, value: big },
    },
    { team_key: 'vault.unreachable' },
  );
  const h = harness(values, { deny: ['forbidden'], maxValueBytes: 256 });
  const ev = deploying([
    managed('ok_key'),
    legacy('missing'),
    managed('forbidden'),
    managed('theirs', 'finance'),
    managed('big_key'),
    vault('team_key'),
  ]);
  await h.service.resolve(ev);

  assert.deepEqual(h.publisher.resolvedEvents, [], 'all or nothing: nothing was sealed');
  assert.deepEqual(h.publisher.retryingEvents, [], 'a permanent failure is not retried');
  const [failed] = h.publisher.failedEvents;
  assert.ok(failed);
  assert.deepEqual(
    failed.failures.map((f) => [f.refId, f.code]),
    [
      ['LEGACY:missing', 'secret.not_found'],
      ['MANAGED:analytics:forbidden', 'ras.permission_denied'],
      ['MANAGED:finance:theirs', 'ras.cross_domain'],
      ['MANAGED:analytics:big_key', 'secret.value_too_large'],
      [`VAULT:${VAULT_ID}:team_key`, 'vault.unreachable'],
    ],
  );
  const byRef = new Map(failed.failures.map((f) => [f.refId, f.message]));
  assert.match(byRef.get('MANAGED:analytics:big_key')!, /is 300 bytes; at most 256 bytes are injected/);
  assert.match(byRef.get('MANAGED:analytics:forbidden')!, /mia may not secret\.use forbidden/);
  assert.match(byRef.get(`VAULT:${VAULT_ID}:team_key`)!, /vault\.unreachable/);
  const text = JSON.stringify(h.publisher.all) + JSON.stringify(h.audit.records);
  assert.ok(!text.includes(big.slice(0, 20)) && !text.includes(fine), 'no value in any event or record');
  assert.ok(
    values.handedOut.every((b) => b.every((x) => x === 0)),
    'values read for a failed deployment were wiped',
  );
  assert.deepEqual(
    h.audit.records.map((r) => [r.outcome, r.requestId]),
    [['deny', ev.deploymentId]],
  );
});

test('a Vault reference needs USE on its integration’s bundle: without it the deployment fails naming the reference, and nothing is read from that Vault', async () => {
  const values = new FakeValues({
    db_password: { scope: 'analytics', version: 2, value: canary('db') },
    team_key: { scope: VAULT_ID, version: 7, value: canary('team') },
  });
  // mia may use the domain's secrets (secret.use), but holds no USE on bundle team-vault.
  const h = harness(values, { deny: ['team-vault'] });
  const ev = { ...deploying([managed('db_password'), vault('team_key')]), groups: ['data-eng'] };
  await h.service.resolve(ev);

  assert.deepEqual(h.publisher.resolvedEvents, []);
  const [failed] = h.publisher.failedEvents;
  assert.ok(failed);
  assert.deepEqual(
    failed.failures.map((f) => [f.refId, f.key, f.code]),
    [[`VAULT:${VAULT_ID}:team_key`, 'team_key', 'ras.permission_denied']],
  );
  assert.match(
    failed.failures[0]!.message,
    new RegExp(`^reference team_key of Vault integration ${VAULT_ID} needs USE on its bundle team-vault: `),
  );
  assert.deepEqual(
    values.calls.flatMap((c) => c.items.map((i) => i.key)),
    ['db_password'],
    'the Vault key was never read',
  );
  assert.ok(
    h.authorizer.batches[0]!.every((q) => q.groups?.join() === 'data-eng'),
    'the bundle is checked for the principal with its groups, like the keys',
  );
  // The record of the refused read names the principal's groups.
  assert.deepEqual(
    h.audit.records.map((r) => [r.actor, r.groups, r.action, r.outcome]),
    [['mia', ['data-eng'], 'secret.read', 'deny']],
  );

  // A short answer from ras (no decision for the bundle) refuses too: never read on a missing decision.
  const short = harness(values);
  short.authorizer.answerOnly = 1;
  await short.service.resolve(deploying([vault('team_key')]));
  assert.deepEqual(
    short.publisher.failedEvents[0]?.failures.map((f) => [f.key, f.code]),
    [['team_key', 'ras.permission_denied']],
  );
  assert.equal(short.publisher.resolvedEvents.length, 0);

  // An integration the workload's domain does not hold is the catalog's to refuse, as a missing one.
  values.bundles = new Map();
  const other = harness(values, { deny: ['team-vault'] });
  await other.service.resolve(deploying([vault('team_key')]));
  assert.deepEqual(
    other.authorizer.batches[0]!.map((q) => q.action),
    ['secret.use'],
    'no bundle to ask about',
  );
});

test('a Vault integration’s bundle is asked of the catalog once and remembered; a remembered bundle ras refuses is asked again, so a deleted integration is still the catalog’s to refuse', async () => {
  const values = new FakeValues({ team_key: { scope: VAULT_ID, version: 7, value: canary('team') } });
  const h = harness(values);
  await h.service.resolve(deploying([vault('team_key')]));
  await h.service.resolve(deploying([vault('team_key')]));
  assert.equal(h.publisher.resolvedEvents.length, 2);
  assert.deepEqual(values.bundleLookups, [{ domain: 'analytics', ids: [VAULT_ID] }], 'one lookup for both');
  assert.deepEqual(
    h.authorizer.batches.map((b) => b.map((q) => `${q.action} ${q.resource}`)),
    [
      ['secret.use team_key', 'bundle.use team-vault'],
      ['secret.use team_key', 'bundle.use team-vault'],
    ],
    'the remembered bundle is still checked with ras on every resolution',
  );

  // Another domain's question never reads analytics' answer.
  await h.service.resolve({ ...deploying([vault('team_key')]), domain: 'finance' });
  assert.deepEqual(values.bundleLookups.at(-1), { domain: 'finance', ids: [VAULT_ID] });

  // The integration is deleted, and with it USE on its bundle: the remembered answer is refused by ras,
  // so the catalog is asked again; it no longer holds the integration, and its read says so (not found),
  // as it did before anything was remembered.
  values.bundles = new Map();
  h.authorizer.decide = (q) => q.resource !== 'team-vault';
  const lookups = values.bundleLookups.length;
  await h.service.resolve(deploying([vault('team_key')]));
  assert.equal(values.bundleLookups.length, lookups + 1, 'asked again after the refusal');
  assert.deepEqual(
    h.authorizer.batches.at(-1)!.map((q) => q.action),
    ['secret.use'],
    'no bundle left to ask about',
  );
  assert.deepEqual(
    values.calls.at(-1)?.items.map((i) => [i.key, i.integrationId]),
    [['team_key', VAULT_ID]],
  );

  // USE revoked while the integration stays: refused, after one fresh lookup that finds the same bundle.
  values.bundles = new Map([[VAULT_ID, 'team-vault']]);
  const fresh = harness(values);
  await fresh.service.resolve(deploying([vault('team_key')]));
  fresh.authorizer.decide = (q) => q.resource !== 'team-vault';
  const before = values.bundleLookups.length;
  const reads = values.calls.length;
  await fresh.service.resolve(deploying([vault('team_key')]));
  assert.equal(values.bundleLookups.length, before + 1);
  assert.deepEqual(
    fresh.publisher.failedEvents[0]?.failures.map((f) => [f.key, f.code]),
    [['team_key', 'ras.permission_denied']],
  );
  assert.equal(values.calls.length, reads, 'nothing read');
});

test('the audit record of a resolution carries the deploying principal’s groups', async () => {
  const values = new FakeValues({ db_password: { scope: 'analytics', version: 2, value: canary('db') } });
  const h = harness(values);
  await h.service.resolve({ ...deploying([managed('db_password')]), groups: ['data-eng', 'oncall'] });
  await h.service.resolve(deploying([managed('db_password')]));
  assert.deepEqual(
    h.audit.records.map((r) => [r.actor, r.groups, r.outcome]),
    [
      ['mia', ['data-eng', 'oncall'], 'ok'],
      ['mia', undefined, 'ok'],
    ],
  );
});

test('a catalog that cannot be reached is retried: the deployment is told it waits, and the next attempt resolves', async () => {
  const secret = canary('db');
  const values = new FakeValues({ db_password: { scope: 'analytics', version: 5, value: secret } });
  const h = harness(values);
  const ev = deploying([managed('db_password')]);

  values.down = true;
  await assert.rejects(
    h.service.resolve(ev, 1),
    (err: LatchkeyError) => err.retryable && err.code === 'resolution.retry' && /attempt 1 of 6/.test(err.message),
  );
  assert.deepEqual(h.publisher.retryingEvents, [
    {
      deploymentId: ev.deploymentId,
      domain: 'analytics',
      attempt: 1,
      maxAttempts: 6,
      failures: [
        {
          refId: 'MANAGED:analytics:db_password',
          key: 'db_password',
          code: 'catalog.unavailable',
          message: 'the catalog could not be read: grpc.unavailable: connect ECONNREFUSED 127.0.0.1:7402',
        },
      ],
    },
  ]);
  assert.deepEqual(h.publisher.failedEvents, []);
  assert.equal(h.audit.records.length, 0, 'an attempt that will be retried is not the outcome: nothing audited yet');

  values.down = false;
  await h.service.resolve(ev, 2);
  const [resolved] = h.publisher.resolvedEvents;
  assert.ok(resolved);
  assert.equal(h.opened(resolved)['MANAGED:analytics:db_password'], secret);
  assert.deepEqual(resolved.warnings, ['resolved on attempt 2 of 6, after waiting for an unavailable backend']);
  assert.deepEqual(
    h.audit.records.map((r) => r.outcome),
    ['ok'],
  );
});

test('ras that cannot be reached is retried like an unavailable catalog', async () => {
  const values = new FakeValues({ k: { scope: 'analytics', version: 1, value: canary('k') } });
  const h = harness(values);
  h.authorizer.failWith = unavailable('grpc.unavailable', 'ras is down');
  await assert.rejects(h.service.resolve(deploying([managed('k')]), 1), { code: 'resolution.retry' });
  assert.deepEqual(
    h.publisher.retryingEvents[0]?.failures.map((f) => f.code),
    ['ras.unavailable'],
  );
  assert.equal(values.calls.length, 0, 'nothing is read without a permission check');
});

test('a Vault that stays sealed is retried a bounded number of times, then the deployment fails saying so', async () => {
  const values = new FakeValues(
    { k: { scope: 'analytics', version: 1, value: canary('k') } },
    { team_key: 'vault.sealed' },
  );
  const h = harness(values);
  const ev = deploying([managed('k'), vault('team_key')]);
  for (let attempt = 1; attempt < 6; attempt++) {
    await assert.rejects(h.service.resolve(ev, attempt), { code: 'resolution.retry' });
  }
  assert.deepEqual(
    h.publisher.retryingEvents.map((e) => [e.attempt, e.maxAttempts, e.failures.map((f) => f.code)]),
    [1, 2, 3, 4, 5].map((n) => [n, 6, ['vault.sealed']]),
  );
  await h.service.resolve(ev, 6);
  const [failed] = h.publisher.failedEvents;
  assert.ok(failed);
  assert.deepEqual(
    failed.failures.map((f) => [f.refId, f.code]),
    [[`VAULT:${VAULT_ID}:team_key`, 'vault.sealed']],
  );
  assert.match(failed.failures[0]!.message, /\(gave up after 6 attempts\)$/);
  assert.deepEqual(h.publisher.resolvedEvents, []);
  assert.deepEqual(
    h.audit.records.map((r) => r.outcome),
    ['error'],
  );
  assert.ok(
    values.handedOut.every((b) => b.every((x) => x === 0)),
    'the value read on every attempt was wiped',
  );
});

test('a retryable failure next to a permanent one fails at once: waiting would not help', async () => {
  const values = new FakeValues({}, { team_key: 'vault.timeout' });
  const h = harness(values);
  await h.service.resolve(deploying([legacy('absent'), vault('team_key')]), 1);
  assert.deepEqual(h.publisher.retryingEvents, []);
  assert.deepEqual(
    h.publisher.failedEvents[0]?.failures.map((f) => [f.code, f.message.includes('gave up')]),
    [
      ['secret.not_found', false],
      ['vault.timeout', false],
    ],
  );
});

test('values that together exceed what one deployment may receive fail every reference that carries one', async () => {
  const values = new FakeValues({
    a: { scope: 'analytics', version: 1, value: 'a'.repeat(600) },
    b: { scope: 'analytics', version: 1, value: 'b'.repeat(600) },
  });
  const h = harness(values, { maxTotalBytes: 1000 });
  await h.service.resolve(deploying([managed('a'), managed('b')]));
  assert.deepEqual(
    h.publisher.failedEvents[0]?.failures.map((f) => f.code),
    ['deployment.values_too_large', 'deployment.values_too_large'],
  );
  assert.match(h.publisher.failedEvents[0]!.failures[0]!.message, /come to 1200 bytes; at most 1000/);
});

test('a dry run resolves and checks everything, answers scopes and versions only, publishes nothing and wipes the values', async () => {
  const secrets = [canary('a'), canary('b')];
  const values = new FakeValues({
    db_password: { scope: 'analytics', version: 3, value: secrets[0]! },
    api_token: { scope: 'analytics', version: 1, value: secrets[1]!, shadowedGlobal: true },
  });
  const h = harness(values, { deny: ['forbidden'] });
  const reply = await analyticsPlan(h, 'dry_run', 'nightly-etl', [
    managed('db_password'),
    legacy('api_token'),
    managed('forbidden'),
    legacy('absent'),
  ]);
  assert.ok(reply.ok);
  assert.deepEqual(
    reply.references.map((r) => [r.refId, r.ok, r.scope, r.version, r.shadowedGlobal, r.code]),
    [
      ['MANAGED:analytics:db_password', true, 'analytics', 3, false, ''],
      ['LEGACY:api_token', true, 'analytics', 1, true, ''],
      ['MANAGED:analytics:forbidden', false, '', 0, false, 'ras.permission_denied'],
      ['LEGACY:absent', false, '', 0, false, 'secret.not_found'],
    ],
  );
  assert.equal(reply.warnings.length, 1);
  assert.match(reply.warnings[0]!, /shadows the global key/);
  assert.equal(values.calls[0]?.kind, 'read', 'a dry run reads the values, as a deployment does');
  assert.deepEqual(h.publisher.all, [], 'nothing was published');
  const text = JSON.stringify(reply);
  for (const s of secrets) assert.ok(!text.includes(s), 'no value in the reply');
  assert.ok(values.handedOut.length === 2 && values.handedOut.every((b) => b.every((x) => x === 0)));
  assert.deepEqual(
    h.audit.records.map((r) => [r.action, r.outcome, r.actor]),
    [['secret.read', 'deny', 'mia']],
  );
  assert.match(h.audit.records[0]!.requestId, /^dry-run:/);
  assert.deepEqual(h.audit.maskedAtWrite, [[...secrets].sort()], 'the values read are masked in logs while held');
  assert.deepEqual([...h.masker.held], [], 'and released afterwards');

  // An unavailable backend is reported as retryable, not waited for.
  values.down = true;
  const down = await analyticsPlan(h, 'dry_run', 'nightly-etl', [managed('db_password')]);
  assert.ok(down.ok);
  assert.deepEqual(
    down.references.map((r) => [r.ok, r.code, r.retryable]),
    [[false, 'catalog.unavailable', true]],
  );
});

test('a connection test resolves as a dry run, records the read as a connection test, and seals the values for that request only', async () => {
  const secrets = { access: canary('access'), secret: canary('secret') };
  const values = new FakeValues({
    lake_access_key: { scope: 'analytics', version: 2, value: secrets.access },
    lake_secret: { scope: 'analytics', version: 5, value: secrets.secret },
  });
  const h = harness(values, { deny: ['forbidden'] });
  const refs = [managed('lake_access_key'), managed('lake_secret')];
  const ask = (references: PlanRequest['references'], requestId: string | null = 'req-1') =>
    h.service.plan({
      mode: 'connection_test',
      domain: 'analytics',
      workload: 'lake',
      principal: 'mia',
      groups: ['data-eng'],
      references,
      ...(requestId !== null ? { requestId } : {}),
    });
  const reply = await ask(refs);
  assert.ok(reply.ok && reply.sealed, 'sealed values');
  assert.deepEqual(
    reply.references.map((r) => [r.key, r.ok, r.scope, r.version]),
    [
      ['lake_access_key', true, 'analytics', 2],
      ['lake_secret', true, 'analytics', 5],
    ],
  );
  const plain = open(new Map([[h.keys.kid, h.keys]]), reply.sealed, connectionTestBinding('req-1'));
  assert.deepEqual(JSON.parse(plain.toString('utf8')), {
    'MANAGED:analytics:lake_access_key': secrets.access,
    'MANAGED:analytics:lake_secret': secrets.secret,
  });
  // Bound to its request: neither another request's binding nor a deployment's opens it.
  assert.throws(() => open(new Map([[h.keys.kid, h.keys]]), reply.sealed!, connectionTestBinding('req-2')));
  assert.throws(() => open(new Map([[h.keys.kid, h.keys]]), reply.sealed!, 'req-1'));
  const [record] = h.audit.records;
  assert.deepEqual(
    [record?.action, record?.outcome, record?.actor, record?.groups, record?.requestId],
    ['secret.read', 'ok', 'mia', ['data-eng'], 'connection-test:req-1'],
  );
  assert.match(record!.reason, /^connection test of storage config lake \(values read for one signed S3 request/);
  assert.equal(record!.resource, 'MANAGED:analytics/lake_access_key@v2, MANAGED:analytics/lake_secret@v5');
  assert.deepEqual(h.publisher.all, [], 'nothing was published');
  assert.ok(!JSON.stringify(h.audit.records).includes(secrets.secret));
  assert.ok(
    values.handedOut.every((b) => b.every((x) => x === 0)),
    'the buffers read were wiped',
  );

  // A refused reference: the refusal is recorded, nothing is sealed.
  const refused = await ask([managed('lake_access_key'), managed('forbidden')]);
  assert.ok(refused.ok);
  assert.equal(refused.sealed, undefined);
  assert.equal(h.audit.records[1]?.outcome, 'deny');
  // Without its request id, refused unread.
  assert.deepEqual(await ask(refs, null), {
    ok: false,
    code: 'resolver.invalid_request',
    message: 'a connection_test needs its requestId (its values are sealed for that request only)',
  });

  // Fail-closed: a read that cannot be recorded sends no value.
  const closed = harness(values, { auditFailClosed: true });
  closed.audit.failing = true;
  const unaudited = await closed.service.plan({
    mode: 'connection_test',
    domain: 'analytics',
    workload: 'lake',
    principal: 'mia',
    references: refs,
    requestId: 'req-3',
  });
  assert.deepEqual([unaudited.ok, !unaudited.ok && unaudited.code], [false, 'audit.unavailable']);
});

test('a check (on apply) reads no value: it asks whether keys exist and may be used', async () => {
  const values = new FakeValues({ db_password: { scope: 'analytics', version: 3, value: canary('x') } });
  const h = harness(values, { deny: ['forbidden'] });
  const reply = await analyticsPlan(h, 'check', 'w', [managed('db_password'), legacy('later'), managed('forbidden')]);
  assert.ok(reply.ok);
  assert.deepEqual(
    reply.references.map((r) => [r.key, r.ok, r.code]),
    [
      ['db_password', true, ''],
      ['later', false, 'secret.not_found'],
      ['forbidden', false, 'ras.permission_denied'],
    ],
  );
  assert.deepEqual(
    values.calls.map((c) => c.kind),
    ['findKeys'],
  );
  assert.equal(values.handedOut.length, 0);
  assert.deepEqual(h.audit.records, [], 'no value was read: nothing to audit here (ras audits its decisions)');
});

test('a malformed plan request is answered with what is wrong', async () => {
  const h = harness(new FakeValues({}));
  const reply = await h.service.plan({
    mode: 'dry_run',
    domain: 'Not A Domain',
    workload: 'w',
    principal: 'mia',
    references: [],
  });
  assert.deepEqual(reply, { ok: false, code: 'resolver.invalid_request', message: 'domain is not a domain name' });
});

test('plan requests are answered over NATS request/reply by the resolvers’ queue group', async (t) => {
  const { nc } = await startBus(t);
  const h = harness(new FakeValues({ k: { scope: 'global', version: 9, value: canary('k') } }));
  const deployer = deployerSigning();
  const sub = startPlanResponder(nc, h.service, deployer.attribution(), silentLogger);
  t.after(() => sub.unsubscribe());
  const ask = (body: string): Promise<PlanReply> => askPlan(nc, body);

  const reply = await ask(
    JSON.stringify(
      deployer.plan({ mode: 'check', domain: 'analytics', workload: 'w', principal: 'mia', references: [legacy('k')] }),
    ),
  );
  assert.ok(reply.ok);
  assert.deepEqual(
    reply.references.map((r) => [r.key, r.ok, r.scope, r.version]),
    [['k', true, 'global', 9]],
  );
  assert.deepEqual(await ask('{not json'), {
    ok: false,
    code: 'resolver.invalid_request',
    message: 'the request is not JSON',
  });
});

test('a deployment’s read names its deployment (Vault dynamic credentials are leased to it); a dry run’s names none', async () => {
  const values = new FakeValues({ db_password: { scope: 'analytics', version: 2, value: canary('dyn') } });
  const h = harness(values);
  const ev = deploying([managed('db_password')]);
  await h.service.resolve(ev);
  await analyticsPlan(h, 'dry_run', 'w', [managed('db_password')]);
  assert.deepEqual(values.readFor, [ev.deploymentId, undefined]);
});
