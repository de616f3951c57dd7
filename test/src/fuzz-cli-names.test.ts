import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CliVerb, namesArgument } from './fuzz-cli.js';

// The fuzz's check that a usage refusal names what is wrong (fuzz-rpc.test.ts runs it on every CLI case).
const VERBS: CliVerb[] = [
  { path: ['secret', 'put'], options: ['--domain', '--global', '--json'], arguments: ['KEY', 'DOMAIN'] },
  { path: ['secret'], options: [], arguments: ['KEY'] },
];

test('a refusal naming a word of the command line, or an argument or option of the usage, names what is wrong', () => {
  assert.ok(namesArgument('latchkey: unknown option --nope', ['secret', 'put', '--nope'], VERBS));
  assert.ok(namesArgument('latchkey: missing KEY', ['secret', 'put'], VERBS));
  assert.ok(namesArgument('latchkey: --domain is required', ['secret', 'put', 'k'], VERBS));
  assert.ok(namesArgument('latchkey: --json takes no value', ['secret', 'put', 'k', '--json=1'], VERBS));
  assert.ok(namesArgument('latchkey: unknown command "bogus"', ['bogus'], VERBS));
  assert.ok(namesArgument('latchkey: unknown command ""', [''], VERBS));
  assert.ok(namesArgument('latchkey: unknown command "abc\\u202egpj.exe"', ['abc\u202egpj.exe'], VERBS));
  assert.ok(namesArgument('latchkey: unknown option -a', ['secret', 'put', '-a@r,x'], VERBS));
  assert.ok(namesArgument('latchkey: unexpected argument " "', ['secret', 'put', ' ', '--json'], VERBS));
  // A long value is named by its beginning (messages cut what they quote).
  assert.ok(namesArgument(`latchkey: "${'x'.repeat(20)}..." is not a key`, ['secret', 'put', 'x'.repeat(300)], VERBS));
  assert.ok(namesArgument('latchkey: the command line of Latchkey', [], VERBS));
});

test('a refusal that names nothing of the command line or the usage is caught', () => {
  assert.equal(namesArgument('latchkey: invalid arguments', ['secret', 'put', 'k', '--nope'], VERBS), false);
  assert.equal(namesArgument('latchkey: bad input', ['bogus'], VERBS), false);
  assert.equal(namesArgument('latchkey: unexpected argument', ['secret', 'put', ' '], VERBS), false);
  // The usage's words count for its own verb only.
  assert.equal(namesArgument('latchkey: give --domain', ['workload', 'apply'], VERBS), false);
});
