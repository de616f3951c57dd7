import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  effectivePolicy,
  inWindow,
  parseRedeployPolicy,
  parseWindow,
  redeployPolicyWarnings,
} from './redeploy-policy.js';
import { parseWorkloadSpec, specWarnings } from '../workload-spec.js';

const at = (iso: string) => new Date(iso);

/** Every problem parseRedeployPolicy reports for `v`, as "path: message". */
function problems(v: unknown): string[] {
  const out: string[] = [];
  parseRedeployPolicy(v, (path, message) => out.push(`${path}: ${message}`));
  return out;
}

test('a policy round-trips as given; without one (or without fields) the workload is manual, one at a time', () => {
  const doc = {
    name: 'etl',
    kind: 'COMPUTE',
    redeployPolicy: { mode: 'auto', window: '02:00-04:00', maxConcurrent: 3 },
    run: { command: ['true'] },
  };
  const spec = parseWorkloadSpec(JSON.stringify(doc), 'analytics');
  assert.deepEqual(spec.redeployPolicy, { mode: 'auto', window: '02:00-04:00', maxConcurrent: 3 });
  assert.deepEqual(effectivePolicy(spec.redeployPolicy), { mode: 'auto', window: '02:00-04:00', maxConcurrent: 3 });
  const bare = parseWorkloadSpec(JSON.stringify({ name: 'etl', kind: 'COMPUTE' }), 'analytics');
  assert.equal(bare.redeployPolicy, undefined);
  assert.deepEqual(effectivePolicy(bare.redeployPolicy), { mode: 'manual', window: undefined, maxConcurrent: 1 });
  assert.deepEqual(effectivePolicy({ mode: 'auto' }), { mode: 'auto', window: undefined, maxConcurrent: 1 });
});

test('apply refuses a bad policy with the JSON path of every problem at once', () => {
  assert.throws(
    () =>
      parseWorkloadSpec(
        JSON.stringify({
          name: 'etl',
          kind: 'COMPUTE',
          redeployPolicy: { mode: 'sometimes', window: '25:00-03:00', maxConcurrent: 0, every: '1h' },
        }),
        'analytics',
      ),
    (err: Error) => {
      assert.match(err.message, /the workload has 4 problem\(s\)/);
      assert.match(err.message, /\$\.redeployPolicy\.every: unknown field \(allowed: mode, window, maxConcurrent\)/);
      assert.match(err.message, /\$\.redeployPolicy\.mode: "sometimes" is not a mode: expected "manual" or "auto"/);
      assert.match(
        err.message,
        /\$\.redeployPolicy\.window: "25:00-03:00": the start hour 25 is out of range \(00-23\)/,
      );
      assert.match(err.message, /\$\.redeployPolicy\.maxConcurrent: expected a whole number from 1 to 1000, got 0/);
      return true;
    },
  );
});

test('each malformed policy field gets its own message', () => {
  assert.deepEqual(problems('auto'), [
    '$.redeployPolicy: expected an object such as {"mode": "auto", "window": "02:00-04:00", "maxConcurrent": 2}',
  ]);
  assert.deepEqual(problems({}), ['$.redeployPolicy.mode: missing: expected "manual" or "auto"']);
  assert.deepEqual(problems({ mode: 'auto', window: 2 }), [
    '$.redeployPolicy.window: expected a string: "HH:MM-HH:MM" (UTC) or a 5-field cron expression such as "* 2-4 * * *"',
  ]);
  assert.deepEqual(problems({ mode: 'auto', maxConcurrent: 1.5 }), [
    '$.redeployPolicy.maxConcurrent: expected a whole number from 1 to 1000, got 1.5',
  ]);
  assert.deepEqual(problems({ mode: 'auto', maxConcurrent: '2' }), [
    '$.redeployPolicy.maxConcurrent: expected a whole number from 1 to 1000, got "2"',
  ]);
  assert.deepEqual(problems({ mode: 'manual', window: '02:00-04:00', maxConcurrent: 1 }), []);
});

test('windows that are not windows say what is wrong', () => {
  const cases: [string, RegExp][] = [
    [
      '2-4',
      /"2-4" is neither HH:MM-HH:MM \(e\.g\. "02:00-04:00", or "23:00-01:00" across midnight\) nor a 5-field cron/,
    ],
    ['02:00 - 04:00', /neither HH:MM-HH:MM/],
    ['02:60-04:00', /the start minute 60 is out of range \(00-59\)/],
    ['02:00-24:30', /the end 24:30 is out of range \(00:00-24:00\)/],
    ['03:00-03:00', /is an empty window \(it starts where it ends\): omit window to redeploy at any time/],
    ['00:00-24:00', /is an empty window/],
    ['* * * *', /has 4 cron field\(s\): a cron window has 5 \(minute hour day-of-month month day-of-week, UTC\)/],
    ['* 24 * * *', /field 2 \(hour\) "24": 24 is out of range 0-23/],
    ['* 4-2 * * *', /field 2 \(hour\) "4-2": the range "4-2" runs backwards/],
    ['*/0 * * * *', /field 1 \(minute\) "\*\/0": the step of "\*\/0" must be a number from 1 to 99/],
    ['* * * FOO *', /field 4 \(month\) "FOO": "FOO" is not a number or a name \(JAN, FEB/],
    ['* * 0 * *', /field 3 \(day of month\) "0": 0 is out of range 1-31/],
  ];
  for (const [window, expected] of cases) {
    const parsed = parseWindow(window);
    assert.equal(typeof parsed, 'string', window);
    assert.match(parsed as string, expected, window);
  }
});

/** Asserts, for each time (ISO), whether `window` is open then. */
function assertWindow(window: string | undefined, times: [iso: string, open: boolean, note?: string][]): void {
  for (const [iso, open, note] of times) assert.equal(inWindow(window, at(iso)), open, note ?? `${window} at ${iso}`);
}

test('HH:MM-HH:MM is UTC, includes its start, excludes its end, and may wrap midnight', () => {
  const w = '02:00-04:00';
  assertWindow(w, [
    ['2025-03-01T01:59:59Z', false],
    ['2025-03-01T02:00:00Z', true],
    ['2025-03-01T03:59:59Z', true],
    ['2025-03-01T04:00:00Z', false],
  ]);
  // A time zone offset in the input changes nothing: the window is read in UTC.
  assertWindow(w, [['2025-03-01T04:30:00+02:00', true]]);

  const night = '23:00-01:00';
  assertWindow(night, [
    ['2025-03-01T22:59:00Z', false],
    ['2025-03-01T23:00:00Z', true],
    ['2025-03-02T00:30:00Z', true],
    ['2025-03-02T01:00:00Z', false],
    ['2025-03-02T12:00:00Z', false],
  ]);

  assertWindow('22:00-24:00', [
    ['2025-03-01T23:59:00Z', true],
    ['2025-03-01T00:00:00Z', false],
  ]);
  assertWindow(undefined, [['2025-03-01T12:00:00Z', true, 'no window: any time']]);
});

test('a cron window is the minutes the expression matches', () => {
  // 02:00-04:59, Monday to Friday. 2025-03-03 is a Monday, 2025-03-08 a Saturday.
  const weekdays = '* 2-4 * * MON-FRI';
  assertWindow(weekdays, [
    ['2025-03-03T02:00:00Z', true],
    ['2025-03-03T04:59:00Z', true],
    ['2025-03-03T05:00:00Z', false],
    ['2025-03-03T01:59:00Z', false],
    ['2025-03-08T03:00:00Z', false],
  ]);

  // Every quarter hour's first five minutes.
  const quarters = '0-4,15-19,30-34,45-49 * * * *';
  assertWindow(quarters, [
    ['2025-03-03T10:16:00Z', true],
    ['2025-03-03T10:20:00Z', false],
  ]);
  assertWindow('*/15 * * * *', [
    ['2025-03-03T10:45:00Z', true],
    ['2025-03-03T10:46:00Z', false],
  ]);
  assertWindow('10/20 * * * *', [
    ['2025-03-03T10:50:00Z', true],
    ['2025-03-03T10:40:00Z', false],
  ]);

  // Sunday is 0 and 7.
  assertWindow('* * * * 7', [['2025-03-09T12:00:00Z', true]]);
  assertWindow('* * * * 0', [['2025-03-09T12:00:00Z', true]]);
  assertWindow('* * * jan *', [['2025-03-09T12:00:00Z', false]]);

  // Both day fields restricted: either day matches (cron's rule); one restricted: that one.
  const firstOrSunday = '* * 1 * SUN';
  assertWindow(firstOrSunday, [
    ['2025-03-01T12:00:00Z', true, 'the 1st (a Saturday)'],
    ['2025-03-09T12:00:00Z', true, 'a Sunday'],
    ['2025-03-10T12:00:00Z', false],
  ]);
  assertWindow('* * 1 * *', [['2025-03-09T12:00:00Z', false]]);
});

test('window and maxConcurrent of a manual policy are valid but said to have no effect', () => {
  assert.deepEqual(redeployPolicyWarnings({ mode: 'manual', window: '02:00-04:00' }), [
    'redeployPolicy.window applies only with mode "auto": this workload is redeployed by hand (latchkey redeploy)',
  ]);
  assert.deepEqual(redeployPolicyWarnings({ mode: 'manual', window: '02:00-04:00', maxConcurrent: 2 }), [
    'redeployPolicy.window and redeployPolicy.maxConcurrent apply only with mode "auto": this workload is redeployed by hand (latchkey redeploy)',
  ]);
  assert.deepEqual(redeployPolicyWarnings({ mode: 'auto', window: '02:00-04:00' }), []);
  const spec = parseWorkloadSpec(
    JSON.stringify({ name: 'x', kind: 'COMPUTE', redeployPolicy: { mode: 'manual', maxConcurrent: 2 } }),
    'analytics',
  );
  assert.deepEqual(specWarnings(spec), [
    'redeployPolicy.maxConcurrent applies only with mode "auto": this workload is redeployed by hand (latchkey redeploy)',
  ]);
});
