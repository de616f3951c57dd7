import { test } from 'node:test';
import assert from 'node:assert/strict';
import { figure, formatNumber, formatTable } from './report.js';

/** A figure of a placeholder scenario: `fields` say what each test is about (value, baseline, goals). */
const figureOf = (
  fields: Partial<Parameters<typeof figure>[0]> & Pick<Parameters<typeof figure>[0], 'value' | 'goals'>,
) => figure({ id: 'x', scenario: 's', what: 'w', unit: 'ms', ...fields });

test('a figure gets its ratio to the baseline and whether every goal is met', () => {
  const f = figureOf({
    value: 12,
    baseline: { value: 10, what: 'direct reads' },
    goals: [{ on: 'ratio', op: '<=', limit: 1.3 }],
  });
  assert.equal(f.ratio, 1.2);
  assert.equal(f.met, true);
  const slow = figure({ ...f, value: 14 });
  assert.equal(slow.met, false);
  const both = figure({
    ...f,
    value: 2500,
    goals: [
      { on: 'value', op: '<=', limit: 2000 },
      { on: 'ratio', op: '<=', limit: 11 },
    ],
  });
  assert.equal(both.met, false, 'one missed goal of two is a miss');
});

test('without a baseline a ratio goal is undecided, and a figure without goals has no verdict', () => {
  const undecided = figureOf({
    unit: '/s',
    value: 5,
    baseline: { value: 0, what: 'nothing' },
    goals: [{ on: 'ratio', op: '>=', limit: 0.5 }],
  });
  assert.equal(undecided.ratio, undefined);
  assert.equal(undecided.met, undefined);
  const plain = figureOf({ unit: 'MiB', value: 5, goals: [] });
  assert.equal(plain.met, undefined);
});

test('the table has one aligned row per figure and says MISSED where a goal is missed', () => {
  const lines = formatTable([
    figureOf({
      scenario: '2. throughput',
      what: 'deploys/s, 64 in flight',
      unit: '/s',
      value: 40,
      baseline: { value: 1000, what: 'raw JetStream' },
      goals: [{ on: 'ratio', op: '>=', limit: 0.5 }],
    }),
  ]);
  assert.equal(lines.length, 3);
  assert.equal(new Set(lines.map((l) => l.length)).size, 1, 'every line equally wide');
  assert.match(lines[2]!, /\| 0\.04x +\| ratio >= 0\.5 +\| MISSED \|$/);
});

test('numbers keep three significant digits, and thousands are grouped', () => {
  assert.equal(formatNumber(1.23456), '1.23');
  assert.equal(formatNumber(0.000123456), '0.000123');
  assert.equal(formatNumber(123456.7), '123,457');
  assert.equal(formatNumber(0), '0');
});
