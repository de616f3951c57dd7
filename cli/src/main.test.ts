import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fakeIo } from './testing/fake-io.js';
import { main } from './main.js';

async function emptyHome(): Promise<string> {
  return path.join(await mkdtemp(path.join(tmpdir(), 'latchkey-main-')), 'home');
}

test('--help lists every verb and exits 0; no arguments is a usage error', async () => {
  const io = fakeIo();
  assert.equal(await main(['--help'], io), 0);
  const text = io.stdoutLines.join('\n');
  for (const verb of ['up', 'status', 'domain create', 'secret put', 'workload apply', 'deploy', 'logs'])
    assert.match(text, new RegExp(verb));
  assert.equal(await main([], fakeIo()), 2);
});

test('<verb> --help prints its usage and exits 0', async () => {
  const io = fakeIo();
  assert.equal(await main(['secret', 'put', '--help'], io), 0);
  assert.match(io.stdoutLines[0] ?? '', /^usage: latchkey secret put KEY \(--domain DOMAIN \| --global\)/);
  const group = fakeIo();
  assert.equal(await main(['workload', '--help'], group), 0);
  assert.deepEqual(
    group.stdoutLines.map((l) => /^usage: (latchkey workload \w+)/.exec(l)?.[1] ?? l),
    ['latchkey workload apply', 'latchkey workload get', 'latchkey workload list', 'latchkey workload test'],
  );
});

test('usage errors exit 2 with a usage line', async () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command "frobnicate"/],
    [['secret', 'peek'], /unknown secret command "peek"/],
    [['secret', 'list'], /--domain DOMAIN or --global is required/],
    [['secret', 'list', '--domain', 'a', '--global'], /either --domain or --global, not both/],
    [['deploy', '--domain', 'a'], /missing NAME/],
    [['deploy', 'w', '--domain', 'a', '--timeout', 'soon'], /--timeout must be a positive number/],
    [['workload', 'apply', '--domain', 'a'], /--file is required/],
    [['status', '--bogus'], /unknown option --bogus/],
  ];
  for (const [argv, message] of cases) {
    const io = fakeIo();
    assert.equal(await main(argv, io), 2, argv.join(' '));
    assert.match(io.stderrLines[0] ?? '', /^latchkey: /);
    assert.match(io.stderrLines[0] ?? '', message, argv.join(' '));
    assert.match(io.stderrLines.at(-1) ?? '', /^usage: latchkey /, argv.join(' '));
  }
});

test('secret put refuses --value and an extra argument without echoing the value', async () => {
  for (const argv of [
    ['secret', 'put', 'K', '--domain', 'a', '--value', 'hunter2'],
    ['secret', 'put', 'K', '--domain', 'a', '--value=hunter2'],
    ['secret', 'put', 'K', 'hunter2', '--domain', 'a'],
  ]) {
    const io = fakeIo({ stdin: 'x' });
    assert.equal(await main(argv, io), 2);
    const all = io.stderrLines.join('\n');
    assert.match(all, /never go on the command line/);
    assert.doesNotMatch(all, /hunter2/);
  }
});

test('secret put refuses a terminal on stdin', async () => {
  const io = fakeIo({ tty: true, env: { LATCHKEY_HOME: await emptyHome() } });
  assert.equal(await main(['secret', 'put', 'K', '--global'], io), 2);
  assert.match(io.stderrLines[0] ?? '', /refusing to read a secret value from a terminal/);
});

test('client verbs say how to start Latchkey when there is no connection.json', async () => {
  const home = await emptyHome();
  for (const argv of [
    ['status'],
    ['domain', 'list'],
    ['secret', 'list', '--global'],
    ['workload', 'list', '--domain', 'a'],
  ]) {
    const io = fakeIo({ env: { LATCHKEY_HOME: home } });
    assert.equal(await main(argv, io), 1);
    assert.deepEqual(io.stderrLines, [
      `latchkey: Latchkey is not running here (no ${home}/connection.json): start it with npm start, or set LATCHKEY_HOME`,
    ]);
  }
});

test('workload apply fails locally on invalid JSON, with the position', async () => {
  const io = fakeIo({ stdin: '{"name": "w",\n "kind": }', env: { LATCHKEY_HOME: await emptyHome() } });
  assert.equal(await main(['workload', 'apply', '-f', '-', '--domain', 'a'], io), 1);
  assert.equal(
    io.stderrLines[0],
    'latchkey: stdin is not valid JSON: expected a value, found character "}" at line 2 column 10 (position 23)',
  );
});

/** The verbs `--help` lists, and how many `<group> --help` lists. */
const HELP_CASES: { name: string; verbs: string[]; group: string; groupVerbs: number }[] = [
  {
    name: '--help lists the new verbs',
    verbs: [
      'bundle create',
      'vault create',
      'vault test',
      'kek rotate',
      'secret selector',
      'secret policy',
      'inventory',
      'vault update',
    ],
    group: 'vault',
    groupVerbs: 6,
  },
  {
    name: '--help lists the grant verbs',
    verbs: ['domain grant', 'domain revoke', 'domain members', 'bundle grant', 'bundle revoke', 'bundle show'],
    group: 'domain',
    groupVerbs: 5,
  },
];

for (const { name, verbs, group: groupName, groupVerbs } of HELP_CASES) {
  test(name, async () => {
    const out = fakeIo();
    assert.equal(await main(['--help'], out), 0);
    const text = out.stdoutLines.join('\n');
    for (const verb of verbs) assert.match(text, new RegExp(`^  ${verb} `, 'm'));
    const group = fakeIo();
    assert.equal(await main([groupName, '--help'], group), 0);
    assert.equal(group.stdoutLines.length, groupVerbs);
  });
}
