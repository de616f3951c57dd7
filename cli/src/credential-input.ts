import { readFile } from 'node:fs/promises';
import { CliError, UsageError } from './cli-errors.js';
import { readAll, stripOneNewline } from './secret-value-input.js';

export const CREDENTIAL_ON_COMMAND_LINE =
  'Vault credentials never go on the command line, where ps and shell history can see them: ' +
  'pipe the token or secret id on stdin (printf %s "$VAULT_TOKEN" | latchkey vault ...) or use --credential-file FILE';

const REFUSED = new Set(['token', 'secret-id', 'secretid', 'secret_id', 'credential', 'password', 'value']);

/**
 * Refuses `--token`, `--secret-id`, `--credential` (and `--name=value` forms)
 * anywhere in argv, naming only the option, never what follows it.
 */
export function refuseCredentialOnCommandLine(argv: readonly string[]): void {
  for (const arg of argv) {
    if (arg === '--') break;
    const name = arg.startsWith('--') ? arg.slice(2).split('=')[0] : undefined;
    if (name !== undefined && REFUSED.has(name)) {
      throw new UsageError(`--${name} is not accepted: ${CREDENTIAL_ON_COMMAND_LINE}`);
    }
  }
}

/**
 * The Vault credential (token or AppRole secret id), from `--credential-file`
 * or else all of stdin, with one trailing newline removed. Refuses a terminal
 * on stdin (the credential would be echoed into scrollback) and an empty one.
 */
export async function readCredential(
  stdin: NodeJS.ReadableStream & { isTTY?: boolean },
  credentialFile: string | undefined,
): Promise<Buffer> {
  let raw: Buffer;
  if (credentialFile !== undefined) {
    try {
      raw = await readFile(credentialFile);
    } catch (err) {
      throw new CliError(`cannot read --credential-file ${credentialFile} (${(err as Error).message})`, {
        code: 'cli.credential_file_unreadable',
      });
    }
  } else {
    if (stdin.isTTY === true) {
      throw new UsageError(
        'refusing to read a Vault credential from a terminal: pipe it in (printf %s "$VAULT_TOKEN" | latchkey vault ...) or use --credential-file FILE',
      );
    }
    raw = await readAll(stdin);
  }
  const credential = stripOneNewline(raw);
  if (credential.length === 0) {
    raw.fill(0);
    throw new CliError(
      `the credential is empty (${credentialFile === undefined ? 'nothing on stdin' : `${credentialFile} is empty`})`,
      { code: 'cli.empty_credential' },
    );
  }
  return credential;
}
