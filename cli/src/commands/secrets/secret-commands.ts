import { DeleteSecretResponse, ListSecretsResponse, SecretMetadata } from '@latchkey/proto';
import { booleanOption, stringOption, type ParsedArgs } from '../args-parser.js';
import { UsageError } from '../../output/cli-errors.js';
import { callOnce } from '../../client/client-context.js';
import { defineCommand, JSON_OPTION } from '../command.js';
import { describeScope, scopeFromArgs } from './scope-option.js';
import { readSecretValue, refuseValueOnCommandLine, VALUE_ON_COMMAND_LINE } from './secret-value-input.js';
import { printDependents, printJson, printTable } from '../../output/table-format.js';

const scopeOptions = { domain: { type: 'string' }, global: { type: 'boolean' } } as const;

/** KEY, and nothing after it: an extra word is most likely a value, which must not be echoed. */
function keyOnly(parsed: ParsedArgs): string {
  if (parsed.positionals.length === 0) throw new UsageError('missing KEY');
  if (parsed.positionals.length > 1) {
    throw new UsageError(`only one KEY is accepted, and nothing after it: ${VALUE_ON_COMMAND_LINE}`);
  }
  const key = parsed.positionals[0] ?? '';
  if (key === '') throw new UsageError('KEY is empty');
  return key;
}

export const secretPutCommand = defineCommand({
  path: ['secret', 'put'],
  usage:
    'latchkey secret put KEY (--domain DOMAIN | --global) [--description TEXT] [--rotate-every Nd|Nh|never] [--value-file FILE] [--json]  (value on stdin)',
  summary:
    'store a new version of a secret; the value comes from stdin or --value-file; --rotate-every sets its rotation policy',
  options: {
    ...scopeOptions,
    description: { type: 'string' },
    'rotate-every': { type: 'string' },
    'value-file': { type: 'string' },
    ...JSON_OPTION,
  },
  positionals: 'any',
  before: refuseValueOnCommandLine,
  async run({ parsed, json }, io) {
    const key = keyOnly(parsed);
    const scope = scopeFromArgs(parsed);
    const rotateEvery = rotateEveryOption(parsed, false);
    const value = await readSecretValue(io.stdin, stringOption(parsed, 'value-file'));
    const description = stringOption(parsed, 'description') ?? '';
    try {
      const meta = await callOnce(io, 'catalog', (catalog) => catalog.putSecret, {
        scope,
        key,
        value,
        description,
        ...(rotateEvery === undefined ? {} : { rotateEvery }),
      });
      if (json) printJson(io.out, SecretMetadata.toJSON(meta));
      else
        io.out(
          `${meta.key || key} version ${meta.version} in ${describeScope(meta.scope ?? scope)}${rotationNote(meta)}`,
        );
    } finally {
      value.fill(0);
    }
    return 0;
  },
});

/**
 * --rotate-every: `<N>d`, `<N>h` or `never`. Only the shape is checked here,
 * before a value is read from stdin; the catalog checks the bounds.
 */
function rotateEveryOption(parsed: ParsedArgs, required: boolean): string | undefined {
  const given = stringOption(parsed, 'rotate-every');
  if (given === undefined) {
    if (required) throw new UsageError('--rotate-every is required: <N>d or <N>h (e.g. 90d), or never');
    return undefined;
  }
  if (given !== 'never' && !/^\d+[dh]$/.test(given)) {
    throw new UsageError(
      `--rotate-every ${JSON.stringify(given.slice(0, 40))} is not a rotation period: use <N>d or <N>h (e.g. 90d, 36h), or never to remove the policy`,
    );
  }
  return given;
}

const rotationNote = (meta: SecretMetadata): string =>
  meta.rotateEvery === '' ? '' : `, rotate every ${meta.rotateEvery}`;

export const secretPolicyCommand = defineCommand({
  path: ['secret', 'policy'],
  usage: 'latchkey secret policy KEY (--domain DOMAIN | --global) --rotate-every (Nd|Nh|never) [--json]',
  summary:
    'set or remove (never) the rotation policy of a secret without a new version; due secrets show in the inventory',
  options: { ...scopeOptions, 'rotate-every': { type: 'string' }, ...JSON_OPTION },
  positionals: ['KEY'],
  async run({ parsed, positionals: [key = ''], json }, io) {
    const scope = scopeFromArgs(parsed);
    const rotateEvery = rotateEveryOption(parsed, true) ?? '';
    const meta = await callOnce(io, 'catalog', (catalog) => catalog.setRotationPolicy, { scope, key, rotateEvery });
    if (json) printJson(io.out, SecretMetadata.toJSON(meta));
    else if (meta.rotateEvery === '') io.out(`${key} in ${describeScope(scope)}: no rotation policy`);
    else io.out(`${key} in ${describeScope(scope)}: rotate every ${meta.rotateEvery}`);
    return 0;
  },
});

export const secretListCommand = defineCommand({
  path: ['secret', 'list'],
  usage: 'latchkey secret list (--domain DOMAIN | --global) [--json]',
  summary: 'list secrets (metadata only; values are never shown)',
  options: { ...scopeOptions, ...JSON_OPTION },
  async run({ parsed, json }, io) {
    const scope = scopeFromArgs(parsed);
    const res = await callOnce(io, 'catalog', (catalog) => catalog.listSecrets, { scope });
    if (json) return printJson(io.out, ListSecretsResponse.toJSON(res));
    printTable(
      io.out,
      ['KEY', 'SOURCE', 'VERSION', 'UPDATED', 'UPDATED_BY', 'ROTATE'],
      res.secrets.map((s) => [
        s.key,
        s.source,
        String(s.version),
        s.updatedAt,
        s.updatedBy,
        s.rotateEvery === '' ? '-' : s.rotateEvery,
      ]),
    );
    return 0;
  },
});

export const secretDeleteCommand = defineCommand({
  path: ['secret', 'delete'],
  usage: 'latchkey secret delete KEY (--domain DOMAIN | --global) [--force] [--json]',
  summary: 'delete a secret; refused while workloads reference it unless --force (they become stale)',
  options: { ...scopeOptions, force: { type: 'boolean' }, ...JSON_OPTION },
  positionals: ['KEY'],
  async run({ parsed, positionals: [key = ''], json }, io) {
    const scope = scopeFromArgs(parsed);
    const force = booleanOption(parsed, 'force');
    const res = await callOnce(io, 'catalog', (catalog) => catalog.deleteSecret, { scope, key, force });
    if (json) return printJson(io.out, DeleteSecretResponse.toJSON(res));
    io.out(`${key} deleted from ${describeScope(scope)}`);
    printDependents(io.out, 'workloads that referenced it, now stale', res.dependents);
    return 0;
  },
});
