import {
  DeleteVaultIntegrationResponse,
  ListVaultIntegrationsResponse,
  TestVaultIntegrationResponse,
  VaultIntegration,
  type UpdateVaultIntegrationRequest,
  type VaultSettings,
} from '@latchkey/proto';
import { booleanOption, requireOption, requirePositionals, stringOption, type ParsedArgs } from '../args-parser.js';
import { UsageError } from '../../output/cli-errors.js';
import { callOnce } from '../../client/client-context.js';
import { callCommand, defineCommand, JSON_OPTION, type CommandSpec } from '../command.js';
import { CREDENTIAL_ON_COMMAND_LINE, readCredential, refuseCredentialOnCommandLine } from './credential-input.js';
import { formatTable, listLines, printJson } from '../../output/table-format.js';

const AUTH_METHODS = ['token', 'approle'] as const;
const LAYOUTS = ['children', 'fields'] as const;

const settingsOptions = {
  host: { type: 'string' },
  path: { type: 'string' },
  namespace: { type: 'string' },
  auth: { type: 'string' },
  'role-id': { type: 'string' },
  layout: { type: 'string' },
  'credential-file': { type: 'string' },
} as const;

const CREDENTIAL_INPUT = '(the token or AppRole secret id on stdin, or --credential-file FILE)';

/**
 * A vault verb: an extra positional is not echoed, as on these verbs it is
 * most likely a token someone typed on the command line.
 */
const VAULT_ARGS = { extraArgument: CREDENTIAL_ON_COMMAND_LINE } as const;
const vaultCommand = (spec: CommandSpec) => defineCommand({ ...VAULT_ARGS, ...spec });

/** The options of a verb on one integration of a domain. */
const domainOptions = { domain: { type: 'string' }, ...JSON_OPTION } as const;

function checkChoice(option: string, value: string | undefined, choices: readonly string[]): void {
  if (value !== undefined && !choices.includes(value)) {
    throw new UsageError(`--${option} must be ${choices.join(' or ')}, not ${JSON.stringify(value)}`);
  }
}

/** The settings of a new (or unsaved, for test) integration, credential not yet read. */
function settingsFromArgs(parsed: ParsedArgs): Omit<VaultSettings, 'credential'> {
  const host = requireOption(parsed, 'host');
  const path = requireOption(parsed, 'path');
  const authMethod = requireOption(parsed, 'auth');
  checkChoice('auth', authMethod, AUTH_METHODS);
  const roleId = stringOption(parsed, 'role-id') ?? '';
  if (authMethod === 'approle' && roleId === '') throw new UsageError('--auth approle requires --role-id ID');
  if (authMethod === 'token' && roleId !== '') throw new UsageError('--role-id is only for --auth approle');
  const layout = stringOption(parsed, 'layout');
  checkChoice('layout', layout, LAYOUTS);
  return {
    host,
    path,
    namespace: stringOption(parsed, 'namespace') ?? '',
    authMethod,
    roleId,
    layout: layout ?? 'children',
  };
}

const dash = (s: string): string => (s === '' ? '-' : s);

export function vaultIntegrationLines(v: VaultIntegration): string[] {
  const rows: [string, string][] = [
    ['id', v.id],
    ['name', v.name],
    ['domain', v.domain],
    ['host', v.host],
    ['path', v.path],
    ['namespace', dash(v.namespace)],
    ['bundle', v.bundle],
    ['auth method', v.authMethod],
    ['role id', dash(v.roleId)],
    ['layout', dash(v.layout)],
    ['created', dash(v.createdAt)],
    ['updated', v.updatedBy === '' ? dash(v.updatedAt) : `${dash(v.updatedAt)} by ${v.updatedBy}`],
  ];
  return rows.map(([k, val]) => `${`${k}:`.padEnd(13)}${val}`);
}

export const vaultCreateCommand = vaultCommand({
  path: ['vault', 'create'],
  usage:
    'latchkey vault create --domain DOMAIN --name NAME --host URL --path /v1/MOUNT/data/BASE|/v1/MOUNT/creds/ROLE [--namespace NS] ' +
    '--auth token|approle [--role-id ID] [--layout children|fields] --bundle BUNDLE [--credential-file FILE] [--json]  ' +
    CREDENTIAL_INPUT,
  summary:
    'connect a read-only Vault path (KV v2, or a database secrets engine creds/ROLE for dynamic credentials) to a domain; the credential comes from stdin or a file',
  options: {
    domain: { type: 'string' },
    name: { type: 'string' },
    bundle: { type: 'string' },
    ...settingsOptions,
    ...JSON_OPTION,
  },
  before: refuseCredentialOnCommandLine,
  async run({ parsed, json }, io) {
    const domain = requireOption(parsed, 'domain');
    const name = requireOption(parsed, 'name');
    const settings = settingsFromArgs(parsed);
    const bundle = requireOption(parsed, 'bundle');
    const credential = await readCredential(io.stdin, stringOption(parsed, 'credential-file'));
    try {
      const v = await callOnce(io, 'catalog', (catalog) => catalog.createVaultIntegration, {
        domain,
        name,
        bundle,
        settings: { ...settings, credential },
      });
      if (json) printJson(io.out, VaultIntegration.toJSON(v));
      else io.out(`vault integration ${v.name || name} created (id ${v.id})`);
    } finally {
      credential.fill(0);
    }
    return 0;
  },
});

export const vaultListCommand = callCommand({
  ...VAULT_ARGS,
  path: ['vault', 'list'],
  usage: 'latchkey vault list --domain DOMAIN [--json]',
  summary: 'list the Vault integrations of a domain (never their credentials)',
  options: domainOptions,
  call: ({ parsed }, io) =>
    callOnce(io, 'catalog', (catalog) => catalog.listVaultIntegrations, { domain: requireOption(parsed, 'domain') }),
  json: (res) => ListVaultIntegrationsResponse.toJSON(res),
  lines: (res) =>
    formatTable(
      ['NAME', 'ID', 'HOST', 'PATH', 'NAMESPACE', 'AUTH', 'BUNDLE', 'LAYOUT', 'UPDATED'],
      res.integrations.map((v) => [
        v.name,
        v.id,
        v.host,
        v.path,
        dash(v.namespace),
        v.authMethod,
        v.bundle,
        dash(v.layout),
        v.updatedAt,
      ]),
    ),
});

export const vaultGetCommand = callCommand({
  ...VAULT_ARGS,
  path: ['vault', 'get'],
  usage: 'latchkey vault get NAME_OR_ID --domain DOMAIN [--json]',
  summary: 'show a Vault integration (never its credential)',
  options: domainOptions,
  positionals: ['NAME_OR_ID'],
  call: ({ parsed, positionals: [integration = ''] }, io) =>
    callOnce(io, 'catalog', (catalog) => catalog.getVaultIntegration, {
      domain: requireOption(parsed, 'domain'),
      integration,
    }),
  json: (v) => VaultIntegration.toJSON(v),
  lines: (v) => vaultIntegrationLines(v),
});

export const vaultUpdateCommand = vaultCommand({
  path: ['vault', 'update'],
  usage:
    'latchkey vault update NAME_OR_ID --domain DOMAIN [--name NAME] [--host URL] [--path PATH] [--namespace NS] ' +
    '[--auth token|approle] [--role-id ID] [--layout children|fields] [--credential-file FILE | --credential-stdin] ' +
    '[--bundle BUNDLE (refused: a bundle is fixed at creation)] [--json]',
  summary: 'change a Vault integration (only the options given; the bundle is fixed at creation)',
  options: {
    domain: { type: 'string' },
    name: { type: 'string' },
    bundle: { type: 'string' },
    ...settingsOptions,
    'credential-stdin': { type: 'boolean' },
    ...JSON_OPTION,
  },
  positionals: ['NAME_OR_ID'],
  before: refuseCredentialOnCommandLine,
  async run({ parsed, positionals: [integration = ''], json }, io) {
    const domain = requireOption(parsed, 'domain');
    const req: UpdateVaultIntegrationRequest = { domain, integration };
    const fields = [
      ['name', 'name'],
      ['host', 'host'],
      ['path', 'path'],
      ['namespace', 'namespace'],
      ['auth', 'authMethod'],
      ['role-id', 'roleId'],
      ['layout', 'layout'],
      ['bundle', 'bundle'],
    ] as const;
    for (const [option, field] of fields) {
      const value = stringOption(parsed, option);
      if (value !== undefined) req[field] = value;
    }
    checkChoice('auth', req.authMethod, AUTH_METHODS);
    checkChoice('layout', req.layout, LAYOUTS);
    const credentialFile = stringOption(parsed, 'credential-file');
    const credentialStdin = booleanOption(parsed, 'credential-stdin');
    if (credentialFile !== undefined && credentialStdin) {
      throw new UsageError('give either --credential-file or --credential-stdin, not both');
    }
    if (Object.keys(req).length === 2 && credentialFile === undefined && !credentialStdin) {
      throw new UsageError(
        'nothing to update: give at least one of --name, --host, --path, --namespace, --auth, --role-id, --layout, --credential-file, --credential-stdin',
      );
    }
    if (credentialFile !== undefined || credentialStdin)
      req.credential = await readCredential(io.stdin, credentialFile);
    try {
      const v = await callOnce(io, 'catalog', (catalog) => catalog.updateVaultIntegration, req);
      if (json) printJson(io.out, VaultIntegration.toJSON(v));
      else io.out(`vault integration ${v.name || integration} updated (id ${v.id})`);
    } finally {
      req.credential?.fill(0);
    }
    return 0;
  },
});

export const vaultDeleteCommand = callCommand({
  ...VAULT_ARGS,
  path: ['vault', 'delete'],
  usage: 'latchkey vault delete NAME_OR_ID --domain DOMAIN [--force] [--json]',
  summary: 'remove a Vault integration (Vault itself is not touched); refused while workloads use it unless --force',
  options: { ...domainOptions, force: { type: 'boolean' } },
  positionals: ['NAME_OR_ID'],
  call: ({ parsed, positionals: [integration = ''] }, io) => {
    const req = { domain: requireOption(parsed, 'domain'), integration, force: booleanOption(parsed, 'force') };
    return callOnce(io, 'catalog', (catalog) => catalog.deleteVaultIntegration, req);
  },
  json: (res) => DeleteVaultIntegrationResponse.toJSON(res),
  lines: ({ deleted: d, dependents }, { positionals: [integration] }) => [
    `vault integration ${d?.name || integration} deleted${d?.id ? ` (id ${d.id})` : ''}`,
    ...listLines('workloads that referenced its keys', dependents),
  ],
});

const SETTINGS_FLAGS = Object.keys(settingsOptions);

export const vaultTestCommand = vaultCommand({
  path: ['vault', 'test'],
  usage:
    'latchkey vault test --domain DOMAIN (NAME_OR_ID | --host URL --path PATH --auth token|approle [--namespace NS] ' +
    `[--role-id ID] [--layout children|fields] [--credential-file FILE]) [--json]  ${CREDENTIAL_INPUT} for unsaved settings`,
  summary: 'log in to Vault and list the path of a saved or unsaved integration; exit 0 only when ok',
  options: { ...domainOptions, ...settingsOptions },
  positionals: 'any',
  before: refuseCredentialOnCommandLine,
  async run({ parsed, json }, io) {
    const saved = parsed.positionals.length > 0;
    const given = SETTINGS_FLAGS.filter((f) => parsed.values.has(f));
    if (saved && given.length > 0) {
      throw new UsageError(
        `give either NAME_OR_ID (a saved integration) or unsaved settings, not both (--${given[0] ?? ''} was given)`,
      );
    }
    if (!saved && given.length === 0) {
      throw new UsageError('give NAME_OR_ID of a saved integration, or --host, --path and --auth for unsaved settings');
    }
    const [integration = ''] = saved ? requirePositionals(parsed, ['NAME_OR_ID'], CREDENTIAL_ON_COMMAND_LINE) : [];
    const domain = requireOption(parsed, 'domain');
    let settings: VaultSettings | undefined;
    if (!saved) {
      const s = settingsFromArgs(parsed);
      settings = { ...s, credential: await readCredential(io.stdin, stringOption(parsed, 'credential-file')) };
    }
    let res: TestVaultIntegrationResponse;
    try {
      res = await callOnce(io, 'catalog', (catalog) => catalog.testVaultIntegration, { domain, integration, settings });
    } finally {
      settings?.credential.fill(0);
    }
    if (json) printJson(io.out, TestVaultIntegrationResponse.toJSON(res));
    else io.out(`${res.outcome}: ${res.message}${res.outcome === 'ok' ? ` (${res.keys} keys)` : ''}`);
    return res.outcome === 'ok' ? 0 : 1;
  },
});
