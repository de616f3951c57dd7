import { refuseOptionsOnCommandLine, writeOnlyInputReader } from '../secrets/secret-value-input.js';

export const CREDENTIAL_ON_COMMAND_LINE =
  'Vault credentials never go on the command line, where ps and shell history can see them: ' +
  'pipe the token or secret id on stdin (printf %s "$VAULT_TOKEN" | latchkey vault ...) or use --credential-file FILE';

/**
 * Refuses `--token`, `--secret-id`, `--credential` (and `--name=value` forms)
 * anywhere in argv, naming only the option, never what follows it.
 */
export const refuseCredentialOnCommandLine = refuseOptionsOnCommandLine(
  new Set(['token', 'secret-id', 'secretid', 'secret_id', 'credential', 'password', 'value']),
  CREDENTIAL_ON_COMMAND_LINE,
);

/** The Vault credential (token or AppRole secret id), from `--credential-file` or else stdin. */
export const readCredential = writeOnlyInputReader({
  what: 'Vault credential',
  pipeExample: 'printf %s "$VAULT_TOKEN" | latchkey vault ...',
  codeStem: 'credential',
});
