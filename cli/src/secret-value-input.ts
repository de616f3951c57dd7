import { readFile } from 'node:fs/promises';
import { CliError, UsageError } from './cli-errors.js';

export const VALUE_ON_COMMAND_LINE =
  'secret values never go on the command line, where ps and shell history can see them: ' +
  'pipe the value on stdin (printf %s "$VALUE" | latchkey secret put KEY ...) or use --value-file FILE';

/** Refuses `--value`, `--value=...` (and its abbreviations) anywhere in argv, without echoing it. */
export function refuseValueOnCommandLine(argv: readonly string[]): void {
  for (const arg of argv) {
    if (arg === '--') break;
    const name = arg.startsWith('--') ? arg.slice(2).split('=')[0] : undefined;
    if (name === 'value' || name === 'val' || name === 'secret' || name === 'secret-value') {
      throw new UsageError(`--${name} is not accepted: ${VALUE_ON_COMMAND_LINE}`);
    }
  }
}

/** Strips exactly one trailing "\n" (the one `echo` and editors add), if present. */
export function stripOneNewline(buf: Buffer): Buffer {
  return buf.length > 0 && buf[buf.length - 1] === 0x0a ? buf.subarray(0, buf.length - 1) : buf;
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/**
 * The secret value, from `--value-file` or else stdin (all of it), with one
 * trailing newline removed. Refuses a terminal on stdin (the value would be
 * echoed and end up in scrollback) and an empty value.
 */
export async function readSecretValue(
  stdin: NodeJS.ReadableStream & { isTTY?: boolean },
  valueFile: string | undefined,
): Promise<Buffer> {
  let raw: Buffer;
  if (valueFile !== undefined) {
    try {
      raw = await readFile(valueFile);
    } catch (err) {
      throw new CliError(`cannot read --value-file ${valueFile} (${(err as Error).message})`, {
        code: 'cli.value_file_unreadable',
      });
    }
  } else {
    if (stdin.isTTY === true) {
      throw new UsageError(
        'refusing to read a secret value from a terminal: pipe it in (printf %s "$VALUE" | latchkey secret put KEY ...) or use --value-file FILE',
      );
    }
    raw = await readAll(stdin);
  }
  const value = stripOneNewline(raw);
  if (value.length === 0) {
    throw new CliError(
      `the value is empty (${valueFile === undefined ? 'nothing on stdin' : `${valueFile} is empty`})`,
      {
        code: 'cli.empty_value',
      },
    );
  }
  return value;
}
