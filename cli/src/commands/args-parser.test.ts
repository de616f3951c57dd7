import assert from 'node:assert/strict';
import { test } from 'node:test';
import { booleanOption, parseArgs, requirePositionals, stringOption } from './args-parser.js';
import { UsageError } from '../output/cli-errors.js';

const specs = {
  domain: { type: 'string' },
  json: { type: 'boolean' },
  file: { type: 'string', short: 'f' },
} as const;

test('parses long, inline, short and boolean options and positionals', () => {
  const p = parseArgs(['KEY', '--domain', 'analytics', '--json', '-f', 'w.json'], specs);
  assert.deepEqual(p.positionals, ['KEY']);
  assert.equal(stringOption(p, 'domain'), 'analytics');
  assert.equal(stringOption(p, 'file'), 'w.json');
  assert.equal(booleanOption(p, 'json'), true);
  assert.equal(stringOption(parseArgs(['--domain=x'], specs), 'domain'), 'x');
  assert.equal(stringOption(parseArgs(['-fw.json'], specs), 'file'), 'w.json');
});

test('a lone - is a value and a positional; -- ends options', () => {
  assert.equal(stringOption(parseArgs(['-f', '-'], specs), 'file'), '-');
  assert.deepEqual(parseArgs(['--', '--json', '-x'], specs).positionals, ['--json', '-x']);
});

test('unknown options, missing values, repeated options and values on booleans are usage errors', () => {
  assert.throws(
    () => parseArgs(['--nope'], specs),
    (e: unknown) => e instanceof UsageError && e.message === 'unknown option --nope',
  );
  assert.throws(
    () => parseArgs(['--domain'], specs),
    (e: unknown) => e instanceof UsageError && /--domain needs a value/.test(e.message),
  );
  assert.throws(() => parseArgs(['--domain', '--json'], specs), UsageError);
  assert.throws(() => parseArgs(['--domain', 'a', '--domain', 'b'], specs), /more than once/);
  assert.throws(() => parseArgs(['--json=yes'], specs), /takes no value/);
  assert.throws(() => parseArgs(['-z'], specs), /unknown option -z/);
});

test('requirePositionals names what is missing and rejects extras', () => {
  assert.throws(() => requirePositionals(parseArgs([], specs), ['NAME']), /missing NAME/);
  assert.throws(() => requirePositionals(parseArgs(['a', 'b'], specs), ['NAME']), /unexpected argument "b"/);
  assert.deepEqual(requirePositionals(parseArgs(['a'], specs), ['NAME']), ['a']);
});
