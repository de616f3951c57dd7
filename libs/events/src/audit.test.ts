import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatchkeyError } from '@latchkey/errors';
import { auditEvent, auditRecord, auditSubject, parseAuditRecord } from './audit.js';
import { eventTypes } from './subjects.js';

const base = {
  service: 'catalog',
  actor: 'olive',
  action: 'secret.put',
  domain: 'analytics',
  resource: 'secret:db_password',
  outcome: 'ok',
} as const;

test('a record gets an id and a time, and every field stays within its bound', () => {
  const at = new Date('2030-01-02T03:04:05.678Z');
  const r = auditRecord({ ...base, at, requestId: 'req-1' });
  assert.match(r.id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(
    { ...r, id: '' },
    // base's fields as given, in the order of a record.
    { id: '', at: '2030-01-02T03:04:05.678Z', ...base, reason: '', requestId: 'req-1' },
  );
  assert.notEqual(auditRecord(base).id, r.id);
  const long = auditRecord({ ...base, actor: 'a'.repeat(1000), reason: 'r'.repeat(5000), groups: ['g'] });
  assert.equal(long.actor.length, 256);
  assert.ok(long.actor.endsWith('...'));
  assert.equal(long.reason.length, 2000);
  assert.deepEqual(long.groups, ['g']);
});

test('the subject is latchkey.audit.<service>.<domain>, global for global scope and anything that is not a domain name', () => {
  assert.equal(auditSubject({ service: 'ras', domain: 'analytics' }), 'latchkey.audit.ras.analytics');
  assert.equal(auditSubject({ service: 'catalog', domain: 'global' }), 'latchkey.audit.catalog.global');
  for (const domain of ['', 'a.b', '*', '>', 'Analytics', 'x y'])
    assert.equal(auditSubject({ service: 'ras', domain }), 'latchkey.audit.ras.global', domain);
  const r = auditRecord(base);
  assert.deepEqual(auditEvent(r), {
    id: r.id,
    type: eventTypes.audit,
    subject: 'latchkey.audit.catalog.analytics',
    data: r,
  });
});

test('a record read from the bus is checked field by field; a bad one is refused for good', () => {
  const r = auditRecord({ ...base, groups: ['data-eng'] });
  assert.deepEqual(parseAuditRecord(JSON.parse(JSON.stringify(r))), r);
  const bad: [unknown, string][] = [
    [null, '(record)'],
    [{ ...r, id: '' }, 'id'],
    [{ ...r, at: 'yesterday' }, 'at'],
    [{ ...r, service: 'mallory' }, 'service'],
    [{ ...r, outcome: 'maybe' }, 'outcome'],
    [{ ...r, actor: '' }, 'actor'],
    [{ ...r, actor: 7 }, 'actor'],
    [{ ...r, reason: 'x'.repeat(2001) }, 'reason'],
    [{ ...r, groups: [1] }, 'groups'],
    [{ ...r, requestId: undefined }, 'requestId'],
  ];
  for (const [data, field] of bad) {
    assert.throws(
      () => parseAuditRecord(data),
      (err: unknown) =>
        err instanceof LatchkeyError &&
        err.code === 'audit.malformed_record' &&
        !err.retryable &&
        err.message === `audit record field ${field} is missing or malformed`,
      field,
    );
  }
});
