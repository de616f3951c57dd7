import { Readable } from 'node:stream';
import fc from 'fast-check';
import { main as cliMain } from '@latchkey/cli';
import { badText, FUZZ_DOMAIN, FUZZ_SECRET, FUZZ_WORKLOAD, unknownEnum } from './fuzz-values.js';

/** One `latchkey` command line as the CLI's own help describes it: its words and the options its usage names. */
export interface CliVerb {
  path: string[];
  options: string[];
  /** The argument names its usage line gives (KEY, NAME, FILE...). */
  arguments: string[];
}

/** Runs `main` in this process with captured output. */
export async function runMain(
  argv: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  stdin = '',
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await cliMain(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    stdin: Readable.from(stdin === '' ? [] : [Buffer.from(stdin)]),
    env,
    cwd,
  });
  return { code, out, err };
}

/**
 * The verbs and their options, read from `latchkey --help` and each verb's
 * `--help` (what a user reads), so that a new verb or option is fuzzed
 * without a list here. `up` is left out: with a good argument it starts a system.
 */
export async function cliVerbs(env: NodeJS.ProcessEnv, cwd: string): Promise<CliVerb[]> {
  const help = (await runMain(['--help'], env, cwd)).out;
  const start = help.indexOf('commands:');
  const verbs: CliVerb[] = [];
  for (const line of help.slice(start + 1)) {
    if (line.trim() === '') break;
    const path = line
      .trim()
      .split(/\s{2,}/)[0]!
      .split(' ');
    if (path[0] === 'up') continue;
    const usage = (await runMain([...path, '--help'], env, cwd)).out.join('\n');
    const options = [...new Set(usage.match(/(?<![\w-])--?[a-z][a-z-]*/g) ?? [])].filter((o) => o !== '--help');
    const args = [...new Set(usage.match(/\b[A-Z][A-Z_]+\b/g) ?? [])];
    verbs.push({ path, options, arguments: args });
  }
  return verbs;
}

/** Files an option may be given: absent, a folder, a device, traversal, unreadable for a workload. */
const FILES = [
  '/nonexistent/dir/file.json',
  '.',
  '/dev/null',
  '/etc/passwd',
  '../../../../../../etc/shadow',
  '',
  '-',
  'workload.json',
  'bad-workload.json',
];

const word: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    FUZZ_DOMAIN,
    FUZZ_SECRET,
    FUZZ_WORKLOAD,
    'global',
    '-1',
    '0',
    '1e9',
    'NaN',
    '99999999999999999999',
    '30x',
    '7d',
    'owner',
    '--',
    '-',
    '--json',
    '--nope',
    '-z',
    '--domain=',
    '--json=1',
    '---',
    '--=x',
  ),
  ...FILES.map((f) => fc.constant(f)),
  badText().map((t) => Buffer.from(t.value).toString('utf8')),
  unknownEnum.map((t) => Buffer.from(t.value).toString('utf8')),
);

/** A generated command line: a verb (or a bogus one) followed by its options in any order, with bad values. */
export function argvCase(verbs: CliVerb[]): fc.Arbitrary<{ argv: string[]; stdin: string }> {
  const verbArgs = fc.constantFrom(...verbs).chain((v) =>
    fc
      .array(
        fc.oneof(
          { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...(v.options.length ? v.options : ['--json'])), word) },
          { weight: 1, arbitrary: fc.constantFrom(...(v.options.length ? v.options : ['--json'])).map((o) => [o]) },
          { weight: 2, arbitrary: word.map((w) => [w]) },
          {
            weight: 1,
            arbitrary: fc
              .tuple(fc.constantFrom(...(v.options.length ? v.options : ['--json'])), word)
              .map(([o, w]) => [`${o}=${w}`]),
          },
        ),
        { maxLength: 6 },
      )
      .map((parts) => [...v.path, ...parts.flat()]),
  );
  const bogus = fc.array(word, { minLength: 0, maxLength: 4 });
  return fc.record({
    argv: fc.oneof({ weight: 9, arbitrary: verbArgs }, { weight: 1, arbitrary: bogus }),
    stdin: fc.oneof(
      fc.constant(''),
      fc.constant('value-1234'),
      fc.constant('{"name": "fz-a", "kind": '),
      badText().map((t) => Buffer.from(t.value).toString('utf8')),
    ),
  });
}

/**
 * Whether a usage refusal (exit 2) names what is wrong: a word of the command line (an unknown option or
 * command, a bad value, cut to its first 20 characters as messages may cut it), or an argument or option the
 * verb's usage names (`missing KEY`, `--domain is required`). A refusal that names none of them ("invalid
 * arguments") leaves the user guessing. An empty command line is answered with the usage, which is right.
 */
export function namesArgument(message: string, argv: string[], verbs: CliVerb[]): boolean {
  if (argv.length === 0) return true;
  const verb = verbs
    .filter((v) => v.path.every((w, i) => argv[i] === w))
    .sort((a, b) => b.path.length - a.path.length)[0];
  // An --option=value is named by its option, and a short option with its value attached (-xVALUE) by -x.
  const words = argv.flatMap((a) => [
    a,
    ...(a.startsWith('-') && a.includes('=') ? [a.slice(0, a.indexOf('='))] : []),
    ...(/^-[^-]/.test(a) && a.length > 2 ? [a.slice(0, 2)] : []),
  ]);
  const escape = (w: string) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // A name counts where it stands as a word of the message (so a one-letter value is not found in any word).
  const standsIn = (w: string, cut: boolean) =>
    new RegExp(`(^|[\\s"'(=,:])${escape(w)}${cut ? '' : `($|[\\s"'),.:;=])`}`).test(message);
  // As given, as JSON quotes it (control characters escaped), or with every non-ASCII character escaped (\u202e).
  const forms = (w: string) => [
    w,
    JSON.stringify(w).slice(1, -1),
    JSON.stringify(w)
      .slice(1, -1)
      .replace(/[^\x20-\x7e]/gu, (c) =>
        [...c].map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
      ),
  ];
  if (words.some((w) => w.trim() !== '' && forms(w).some((f) => standsIn(f.slice(0, 20), f.length > 20)))) return true;
  if (verb && [...verb.options, ...verb.arguments].some((n) => standsIn(n, false))) return true;
  // A blank word is named by its quotes (`unexpected argument " "`).
  return argv.some((w) => w.trim() === '' && message.includes(JSON.stringify(w)));
}
