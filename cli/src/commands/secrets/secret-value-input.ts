import { readFile } from 'node:fs/promises';
import { CliError, UsageError } from '../../output/cli-errors.js';

export const VALUE_ON_COMMAND_LINE =
  'secret values never go on the command line, where ps and shell history can see them: ' +
  'pipe the value on stdin (printf %s "$VALUE" | latchkey secret put KEY ...) or use --value-file FILE';

/**
 * A check of raw argv that refuses any `--NAME` or `--NAME=...` in `names`
 * (before a `--`), naming only the option, never what follows it.
 */
export const refuseOptionsOnCommandLine =
  (names: ReadonlySet<string>, why: string) =>
  (argv: readonly string[]): void => {
    for (const arg of argv) {
      if (arg === '--') break;
      const name = arg.startsWith('--') ? arg.slice(2).split('=')[0] : undefined;
      if (name !== undefined && names.has(name)) throw new UsageError(`--${name} is not accepted: ${why}`);
    }
  };

/** Refuses `--value`, `--value=...` (and its abbreviations) anywhere in argv, without echoing it. */
export const refuseValueOnCommandLine = refuseOptionsOnCommandLine(
  new Set(['value', 'val', 'secret', 'secret-value']),
  VALUE_ON_COMMAND_LINE,
);

/** Strips exactly one trailing "\n" (the one `echo` and editors add), if present. */
export function stripOneNewline(buf: Buffer): Buffer {
  return buf.length > 0 && buf[buf.length - 1] === 0x0a ? buf.subarray(0, buf.length - 1) : buf;
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

export interface WriteOnlyInput {
  /** "secret value", "Vault credential": for messages. */
  what: string;
  /** How to pipe it in, for the terminal refusal. */
  pipeExample: string;
  /** Error-code stem: cli.<stem>_file_unreadable, cli.empty_<stem>; the file option is --<stem>-file. */
  codeStem: string;
}

/**
 * A write-only input (a secret value, a Vault credential): from a file or
 * else all of stdin, with one trailing newline removed. Refuses a terminal on
 * stdin (it would be echoed into scrollback) and an empty input.
 */
export async function readWriteOnlyInput(
  stdin: NodeJS.ReadableStream & { isTTY?: boolean },
  file: string | undefined,
  spec: WriteOnlyInput,
): Promise<Buffer> {
  const fileOption = `--${spec.codeStem}-file`;
  let raw: Buffer;
  if (file !== undefined) {
    try {
      raw = await readFile(file);
    } catch (err) {
      throw new CliError(`cannot read ${fileOption} ${file} (${(err as Error).message})`, {
        code: `cli.${spec.codeStem}_file_unreadable`,
      });
    }
  } else {
    if (stdin.isTTY === true) {
      throw new UsageError(
        `refusing to read a ${spec.what} from a terminal: pipe it in (${spec.pipeExample}) or use ${fileOption} FILE`,
      );
    }
    raw = await readAll(stdin);
  }
  const input = stripOneNewline(raw);
  if (input.length === 0) {
    raw.fill(0);
    const noun = spec.what.split(' ').pop() ?? spec.what;
    throw new CliError(`the ${noun} is empty (${file === undefined ? 'nothing on stdin' : `${file} is empty`})`, {
      code: `cli.empty_${spec.codeStem}`,
    });
  }
  return input;
}

/** A reader of one write-only input, from its file option or else stdin. */
export const writeOnlyInputReader =
  (spec: WriteOnlyInput) =>
  (stdin: NodeJS.ReadableStream & { isTTY?: boolean }, file: string | undefined): Promise<Buffer> =>
    readWriteOnlyInput(stdin, file, spec);

/** The secret value, from `--value-file` or else stdin. */
export const readSecretValue = writeOnlyInputReader({
  what: 'secret value',
  pipeExample: 'printf %s "$VALUE" | latchkey secret put KEY ...',
  codeStem: 'value',
});
