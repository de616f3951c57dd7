import { DeleteSecretResponse, ListSecretsResponse, SecretMetadata } from '@latchkey/proto';
import { booleanOption, stringOption, type ParsedArgs } from '../args-parser.js';
import { UsageError } from '../../output/cli-errors.js';
import { callOnce } from '../../client/client-context.js';
import { callCommand, defineCommand, JSON_OPTION } from '../command.js';
import { describeScope, SCOPE_OPTIONS, scopeFromArgs } from './scope-option.js';
import { readSecretValue, refuseValueOnCommandLine, VALUE_ON_COMMAND_LINE } from './secret-value-input.js';
import { formatTable, listLines, printJson } from '../../output/table-format.js';

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
    ...SCOPE_OPTIONS,
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

export const secretPolicyCommand = callCommand({
  path: ['secret', 'policy'],
  usage: 'latchkey secret policy KEY (--domain DOMAIN | --global) --rotate-every (Nd|Nh|never) [--json]',
  summary:
    'set or remove (never) the rotation policy of a secret without a new version; due secrets show in the inventory',
  options: { ...SCOPE_OPTIONS, 'rotate-every': { type: 'string' }, ...JSON_OPTION },
  positionals: ['KEY'],
  call: ({ parsed, positionals: [key = ''] }, io) => {
    const req = { scope: scopeFromArgs(parsed), key, rotateEvery: rotateEveryOption(parsed, true) ?? '' };
    return callOnce(io, 'catalog', (catalog) => catalog.setRotationPolicy, req);
  },
  json: (meta) => SecretMetadata.toJSON(meta),
  lines(meta, { parsed, positionals: [key] }) {
    const where = describeScope(scopeFromArgs(parsed));
    return [
      meta.rotateEvery === ''
        ? `${key} in ${where}: no rotation policy`
        : `${key} in ${where}: rotate every ${meta.rotateEvery}`,
    ];
  },
});

export const secretListCommand = callCommand({
  path: ['secret', 'list'],
  usage: 'latchkey secret list (--domain DOMAIN | --global) [--deleted] [--json]',
  summary:
    'list secrets (metadata only; values are never shown); --deleted lists the deleted ones that can still be restored',
  options: { ...SCOPE_OPTIONS, deleted: { type: 'boolean' }, ...JSON_OPTION },
  call: ({ parsed }, io) =>
    callOnce(io, 'catalog', (catalog) => catalog.listSecrets, {
      scope: scopeFromArgs(parsed),
      deleted: booleanOption(parsed, 'deleted'),
    }),
  json: (res) => ListSecretsResponse.toJSON(res),
  lines: (res, { parsed }) =>
    booleanOption(parsed, 'deleted')
      ? formatTable(
          ['KEY', 'VERSION', 'DELETED', 'DELETED_BY', 'RESTORABLE_UNTIL'],
          res.secrets.map((s) => [s.key, String(s.version), s.deletedAt, s.updatedBy, s.recoverUntil]),
        )
      : formatTable(
          ['KEY', 'SOURCE', 'VERSION', 'UPDATED', 'UPDATED_BY', 'ROTATE'],
          res.secrets.map((s) => [
            s.key,
            s.source,
            String(s.version),
            s.updatedAt,
            s.updatedBy,
            s.rotateEvery === '' ? '-' : s.rotateEvery,
          ]),
        ),
});

/** --recovery-days: 0..30, checked here for its shape; the catalog checks the bounds too. */
function recoveryDaysOption(parsed: ParsedArgs): number | undefined {
  const given = stringOption(parsed, 'recovery-days');
  if (given === undefined) return undefined;
  if (!/^\d{1,2}$/.test(given) || Number(given) > 30) {
    throw new UsageError(
      `--recovery-days ${JSON.stringify(given.slice(0, 40))} is not a recovery window: give a whole number of days from 0 to 30 (0 destroys the values now)`,
    );
  }
  return Number(given);
}

export const secretDeleteCommand = callCommand({
  path: ['secret', 'delete'],
  usage: 'latchkey secret delete KEY (--domain DOMAIN | --global) [--force] [--recovery-days 0..30] [--json]',
  summary:
    'delete a secret, restorable for a recovery window (default 7 days; 0 destroys its values now); refused while workloads reference it unless --force (they become stale)',
  options: { ...SCOPE_OPTIONS, force: { type: 'boolean' }, 'recovery-days': { type: 'string' }, ...JSON_OPTION },
  positionals: ['KEY'],
  call: ({ parsed, positionals: [key = ''] }, io) => {
    const recoveryDays = recoveryDaysOption(parsed);
    const req = {
      scope: scopeFromArgs(parsed),
      key,
      force: booleanOption(parsed, 'force'),
      ...(recoveryDays === undefined ? {} : { recoveryDays }),
    };
    return callOnce(io, 'catalog', (catalog) => catalog.deleteSecret, req);
  },
  json: (res) => DeleteSecretResponse.toJSON(res),
  lines: (res, { parsed, positionals: [key] }) => {
    const where = describeScope(scopeFromArgs(parsed));
    const flag = parsed.values.get('global') === true ? '--global' : `--domain ${stringOption(parsed, 'domain') ?? ''}`;
    return [
      `${key} deleted from ${where}`,
      res.recoverUntil === ''
        ? 'its values are destroyed'
        : `restorable until ${res.recoverUntil} (latchkey secret restore ${key} ${flag}); its values are destroyed then`,
      ...listLines('workloads that referenced it, now stale', res.dependents),
    ];
  },
});
