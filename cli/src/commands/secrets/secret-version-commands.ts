import { ListSecretVersionsResponse, SecretMetadata, SecretVersion } from '@latchkey/proto';
import { stringOption, type ParsedArgs } from '../args-parser.js';
import { UsageError } from '../../output/cli-errors.js';
import { callOnce } from '../../client/client-context.js';
import { callCommand, JSON_OPTION } from '../command.js';
import { describeScope, SCOPE_OPTIONS, scopeFromArgs } from './scope-option.js';
import { formatTable } from '../../output/table-format.js';

/** A version option (--to N, --version N): a whole number from 1 up, checked before any call. */
export function versionOption(parsed: ParsedArgs, name: string): number {
  const given = stringOption(parsed, name);
  if (given === undefined)
    throw new UsageError(`--${name} is required: the version number (latchkey secret versions KEY lists them)`);
  if (!/^[1-9]\d{0,9}$/.test(given)) {
    throw new UsageError(
      `--${name} ${JSON.stringify(given.slice(0, 40))} is not a version number: give a whole number from 1 up`,
    );
  }
  return Number(given);
}

export const secretVersionsCommand = callCommand({
  path: ['secret', 'versions'],
  usage: 'latchkey secret versions KEY (--domain DOMAIN | --global) [--json]',
  summary:
    'list the kept versions of a secret: number, created, by, state and which live deployments hold each (never a value)',
  options: { ...SCOPE_OPTIONS, ...JSON_OPTION },
  positionals: ['KEY'],
  call: ({ parsed, positionals: [key = ''] }, io) =>
    callOnce(io, 'catalog', (catalog) => catalog.listSecretVersions, { scope: scopeFromArgs(parsed), key }),
  json: (res) => ListSecretVersionsResponse.toJSON(res),
  lines: (res) => [
    ...formatTable(
      ['VERSION', 'CREATED', 'BY', 'STATE', 'HELD_BY'],
      res.versions.map((v) => [
        `${v.version}${v.current ? ' (current)' : ''}`,
        v.createdAt,
        v.createdBy,
        v.state + (v.rolledBackFrom > 0 ? `, rollback to ${v.rolledBackFrom}` : ''),
        v.heldBy.length === 0 ? '-' : v.heldBy.join(', '),
      ]),
    ),
    `${res.kept} versions are kept per secret; older ones are destroyed`,
    ...(res.holdersKnown ? [] : ['the deployer could not be asked which deployments hold which version']),
  ],
});

export const secretRollbackCommand = callCommand({
  path: ['secret', 'rollback'],
  usage: 'latchkey secret rollback KEY (--domain DOMAIN | --global) --to N [--json]',
  summary:
    "make a new version with version N's value (copied inside the catalog); workloads holding other versions become stale",
  options: { ...SCOPE_OPTIONS, to: { type: 'string' }, ...JSON_OPTION },
  positionals: ['KEY'],
  call: ({ parsed, positionals: [key = ''] }, io) => {
    const req = { scope: scopeFromArgs(parsed), key, toVersion: versionOption(parsed, 'to') };
    return callOnce(io, 'catalog', (catalog) => catalog.rollbackSecret, req);
  },
  json: (meta) => SecretMetadata.toJSON(meta),
  lines: (meta, { parsed, positionals: [key] }) => [
    `${meta.key || key} version ${meta.version} in ${describeScope(meta.scope ?? scopeFromArgs(parsed))}, with the value of version ${stringOption(parsed, 'to') ?? ''}`,
  ],
});

const versionStateCommand = (verb: 'disable' | 'enable') =>
  callCommand({
    path: ['secret', verb],
    usage: `latchkey secret ${verb} KEY (--domain DOMAIN | --global) --version N [--json]`,
    summary:
      verb === 'disable'
        ? 'disable a version: it is kept, but no deployment may resolve it'
        : 'enable a disabled version again',
    options: { ...SCOPE_OPTIONS, version: { type: 'string' }, ...JSON_OPTION },
    positionals: ['KEY'],
    call: ({ parsed, positionals: [key = ''] }, io) => {
      const req = {
        scope: scopeFromArgs(parsed),
        key,
        version: versionOption(parsed, 'version'),
        disabled: verb === 'disable',
      };
      return callOnce(io, 'catalog', (catalog) => catalog.setSecretVersionState, req);
    },
    json: (v) => SecretVersion.toJSON(v),
    lines: (v, { parsed, positionals: [key] }) => [
      `${key} version ${v.version} in ${describeScope(scopeFromArgs(parsed))}: ${v.state}${v.current ? ' (the current version)' : ''}`,
    ],
  });

export const secretDisableCommand = versionStateCommand('disable');
export const secretEnableCommand = versionStateCommand('enable');

export const secretRestoreCommand = callCommand({
  path: ['secret', 'restore'],
  usage: 'latchkey secret restore KEY (--domain DOMAIN | --global) [--json]',
  summary: 'bring back a deleted secret, as it was, while its recovery window lasts (secret list --deleted)',
  options: { ...SCOPE_OPTIONS, ...JSON_OPTION },
  positionals: ['KEY'],
  call: ({ parsed, positionals: [key = ''] }, io) =>
    callOnce(io, 'catalog', (catalog) => catalog.restoreSecret, { scope: scopeFromArgs(parsed), key }),
  json: (meta) => SecretMetadata.toJSON(meta),
  lines: (meta, { parsed, positionals: [key] }) => [
    `${meta.key || key} restored in ${describeScope(meta.scope ?? scopeFromArgs(parsed))}, version ${meta.version}`,
  ],
});
