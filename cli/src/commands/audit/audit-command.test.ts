import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { AuditEntry, ListAuditRequest, ListAuditResponse } from '@latchkey/proto';
import { fail, useFakeServices } from '../../testing/fake-services.js';
import { sinceOption } from './audit-command.js';
import { isControl } from '../../output/terminal-text.js';

const requests: ListAuditRequest[] = [];

/** Seven records, newest first, as ras keeps them: r7 .. r1. */
const ALL: AuditEntry[] = Array.from({ length: 7 }, (_, i) => {
  const n = 7 - i;
  return {
    id: `r${n}`,
    at: `2030-01-01T00:0${n}:00.000Z`,
    service: n % 2 === 0 ? 'ras' : 'catalog',
    actor: n === 4 ? 'mia' : 'olive',
    groups: n === 4 ? ['data-eng'] : [],
    action: n % 2 === 0 ? 'secret.use' : 'secret.put',
    domain: 'analytics',
    resource: n % 2 === 0 ? 'db_password' : 'secret:db_password',
    outcome: n === 4 ? 'deny' : n % 2 === 0 ? 'allow' : 'ok',
    reason: n === 4 ? 'ras.permission_denied: mia may not secret.use' : '',
    requestId: `req-${n}`,
  };
});

/** A record as an outsider's request with a crafted name could have left it (before names were validated). */
const FORGED_ROW = '2030-01-01T00:09:00.000Z  ras  admin  secret.put  analytics  db_password  allow';
const FORGED: AuditEntry = {
  ...(ALL[0] as AuditEntry),
  id: 'r9',
  resource: `job\n${FORGED_ROW}\u001b[2J\u009b31m\r\u202e`,
};

/** Pages over ALL like ras: the token is the index to go on from. */
function listAudit(call: ServerUnaryCall<ListAuditRequest, ListAuditResponse>, cb: sendUnaryData<ListAuditResponse>) {
  const req = call.request;
  requests.push(req);
  if (req.domain === 'finance') {
    fail(
      cb,
      status.PERMISSION_DENIED,
      'ras.permission_denied',
      'olive may not audit.read in domain finance: olive holds no role there',
    );
    return;
  }
  if (req.domain === 'forged') {
    if (req.actor === 'err') {
      cb({ code: status.INVALID_ARGUMENT, details: `bad name\n${FORGED_ROW}\u001b[2J` });
      return;
    }
    cb(null, { records: [FORGED], nextPageToken: '' });
    return;
  }
  const matching = ALL.filter((r) => req.actor === '' || r.actor === req.actor);
  const from = req.pageToken === '' ? 0 : Number(req.pageToken);
  const page = matching.slice(from, from + (req.limit || 100));
  const next = from + page.length;
  cb(null, { records: page, nextPageToken: next < matching.length ? String(next) : '' });
}

const fake = useFakeServices({ ras: { listAudit } }, { identity: false });
beforeEach(() => {
  requests.length = 0;
});

/** Runs the command line with a token of our own: the fake ras accepts any caller. */
const run = (argv: string[], exitCode: number) => fake.run(argv, exitCode, { env: { LATCHKEY_TOKEN: 'olive-token' } });

test('audit --json sends domain, since and actor, and prints every field of every record', async () => {
  const out = await run(
    ['audit', '--domain', 'analytics', '--since', '2030-01-01T00:00:00Z', '--actor', 'mia', '--json'],
    0,
  );
  assert.deepEqual(requests, [
    { domain: 'analytics', since: '2030-01-01T00:00:00Z', actor: 'mia', limit: 100, pageToken: '' },
  ]);
  assert.deepEqual(JSON.parse(out.stdoutLines.join('\n')), { records: [ALL[3]], more: false });
});

test('audit follows pages up to --limit, and says when more records match', async () => {
  const out = await run(['audit', '--limit', '5', '--json'], 0);
  const printed = JSON.parse(out.stdoutLines.join('\n')) as { records: AuditEntry[]; more: boolean };
  assert.deepEqual(
    printed.records.map((r) => r.id),
    ['r7', 'r6', 'r5', 'r4', 'r3'],
  );
  assert.equal(printed.more, true);
  assert.deepEqual(
    requests.map((r) => [r.limit, r.pageToken]),
    [[5, '']],
  );

  // Without --limit: 100 at most; every page is followed until the last.
  const all = await run(['audit'], 0);
  assert.equal(requests.length, 2);
  assert.deepEqual(all.stdoutLines[0]?.split(/\s+/), [
    'AT',
    'SERVICE',
    'ACTOR',
    'ACTION',
    'DOMAIN',
    'RESOURCE',
    'OUTCOME',
    'REASON',
  ]);
  assert.equal(all.stdoutLines.length, 1 + ALL.length);
  assert.match(
    all.stdoutLines[4] ?? '',
    /^2030-01-01T00:04:00\.000Z\s+ras\s+mia\s+secret\.use\s+analytics\s+db_password\s+deny\s+ras\.permission_denied: mia may not secret\.use$/,
  );
});

test('audit --since takes a duration back from now', () => {
  const now = Date.parse('2030-06-01T12:00:00Z');
  assert.equal(sinceOption('90s', now), '2030-06-01T11:58:30.000Z');
  assert.equal(sinceOption('15m', now), '2030-06-01T11:45:00.000Z');
  assert.equal(sinceOption('2h', now), '2030-06-01T10:00:00.000Z');
  assert.equal(sinceOption('7d', now), '2030-05-25T12:00:00.000Z');
  assert.equal(sinceOption('2030-01-01T00:00:00+02:00', now), '2030-01-01T00:00:00+02:00');
  assert.equal(sinceOption(undefined, now), '');
});

test('audit usage errors exit 2 and ask nothing', async () => {
  const cases: [string[], RegExp][] = [
    [['audit', '--since', 'yesterday'], /--since "yesterday": give an RFC 3339 time/],
    [['audit', '--since', '2030-13-45'], /--since "2030-13-45": give an RFC 3339 time/],
    [['audit', '--limit', '0'], /--limit must be a whole number from 1 to 100000/],
    [['audit', '--limit', 'ten'], /--limit must be a whole number/],
    [['audit', 'analytics'], /./],
  ];
  for (const [argv, message] of cases) {
    const out = await run(argv, 2);
    assert.match(out.stderrLines[0] ?? '', message, argv.join(' '));
    assert.match(out.stderrLines.at(-1) ?? '', /^usage: latchkey audit \[--domain DOMAIN\]/);
  }
  assert.equal(requests.length, 0);
});

test('a refusal from ras is printed with its code, exit 1, and no records', async () => {
  const out = await run(['audit', '--domain', 'finance'], 1);
  assert.deepEqual(out.stdoutLines, []);
  assert.deepEqual(out.stderrLines, [
    'latchkey: olive may not audit.read in domain finance: olive holds no role there (ras.permission_denied)',
  ]);
});

test('control characters from ras are escaped: a record cannot print a forged row or reach the terminal raw', async () => {
  const table = await run(['audit', '--domain', 'forged'], 0);
  assert.equal(table.stdoutLines.length, 2, 'the header and one row');
  const row = table.stdoutLines[1] ?? '';
  assert.match(row, /job\\u000a2030-01-01T00:09:00\.000Z {2}ras {2}admin.*\\u001b\[2J\\u009b31m\\u000d\\u202e/);
  const json = await run(['audit', '--domain', 'forged', '--json'], 0);
  const all = [...table.stdoutLines, ...json.stdoutLines].join('\n');
  const raw = [...all].filter((c) => c !== '\n' && isControl(c.codePointAt(0) ?? 0));
  assert.deepEqual(raw, [], 'no raw control character');
  // --json stays valid JSON and keeps the exact text for scripts.
  assert.deepEqual((JSON.parse(json.stdoutLines.join('\n')) as { records: AuditEntry[] }).records, [FORGED]);
  const err = await run(['audit', '--domain', 'forged', '--actor', 'err'], 1);
  assert.equal(err.stderrLines.length, 1, 'a server message stays on one line');
  assert.match(err.stderrLines[0] ?? '', /^latchkey: bad name\\u000a2030-01-01T00:09:00.*\\u001b\[2J \(grpc\./);
});
