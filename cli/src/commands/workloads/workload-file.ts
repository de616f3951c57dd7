import { readFile } from 'node:fs/promises';
import { CliError } from '../../output/cli-errors.js';
import { findJsonError } from './json-error-position.js';
import { readAll } from '../secrets/secret-value-input.js';

/** Reads a workload spec (`-` = stdin) and checks locally that it is JSON. */
export async function readWorkloadFile(
  file: string,
  stdin: NodeJS.ReadableStream & { isTTY?: boolean },
): Promise<string> {
  const label = file === '-' ? 'stdin' : file;
  let text: string;
  if (file === '-') {
    if (stdin.isTTY === true)
      throw new CliError('-f - reads the spec from stdin, but stdin is a terminal: pipe the file in or name it');
    text = (await readAll(stdin)).toString('utf8');
  } else {
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${file} (${(err as Error).message})`, { code: 'cli.file_unreadable' });
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '')
    throw new CliError(`${label} is empty: expected a workload spec in JSON`, { code: 'cli.invalid_json' });
  const error = findJsonError(text);
  if (error !== undefined) {
    throw new CliError(
      `${label} is not valid JSON: ${error.reason} at line ${error.line} column ${error.column} (position ${error.position})`,
      { code: 'cli.invalid_json' },
    );
  }
  return text;
}
