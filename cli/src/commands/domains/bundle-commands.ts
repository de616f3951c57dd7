import { Bundle, BundleGrant, GrantBundleResponse, ListBundlesResponse, RevokeBundleResponse } from '@latchkey/proto';
import { requireOption, type ParsedArgs } from '../args-parser.js';
import { callKeepingRequest, callOnce, invoke, withClients } from '../../client/client-context.js';
import { callCommand, JSON_OPTION } from '../command.js';
import { describeGrantee, granteeFromArgs, granteeOptions, permissionsFromArgs } from './grantee-option.js';
import { formatTable } from '../../output/table-format.js';

const options = { domain: { type: 'string' }, ...JSON_OPTION } as const;
const grantOptions = { ...options, ...granteeOptions, permission: { type: 'string' } } as const;

function bundleLines(b: Bundle): string[] {
  return [
    `bundle:      ${b.name}`,
    `domain:      ${b.domain}`,
    `created:     ${b.createdAt}`,
    `created by:  ${b.createdBy}`,
  ];
}

/** One row per grantee: "VIEW, USE". */
function grantRows(grants: readonly BundleGrant[]): string[][] {
  const rows = new Map<string, string[]>();
  for (const g of grants) {
    const key = `${g.grantee?.kind ?? ''}\u0000${g.grantee?.id ?? ''}`;
    const row = rows.get(key);
    if (row) row[2] = `${row[2] ?? ''}, ${g.permission}`;
    else rows.set(key, [g.grantee?.kind ?? '', g.grantee?.id ?? '', g.permission]);
  }
  return [...rows.values()];
}

const listed = (grants: readonly BundleGrant[]): string => grants.map((g) => g.permission).join(', ');

export const bundleCreateCommand = callCommand({
  path: ['bundle', 'create'],
  usage: 'latchkey bundle create NAME --domain DOMAIN [--json]',
  summary: 'create a bundle (a named access-control object of a domain; owners and platform admins)',
  options,
  positionals: ['NAME'],
  call: ({ parsed, positionals: [name = ''] }, io) =>
    callOnce(io, 'ras', (ras) => ras.createBundle, { domain: requireOption(parsed, 'domain'), name }),
  json: (b) => Bundle.toJSON(b),
  lines: (b, { parsed, positionals: [name] }) => [
    `bundle ${b.name || name} created in domain ${b.domain || requireOption(parsed, 'domain')}`,
  ],
});

export const bundleShowCommand = callCommand({
  path: ['bundle', 'show'],
  usage: 'latchkey bundle show NAME --domain DOMAIN [--json]',
  summary: 'show a bundle and its grants',
  options,
  positionals: ['NAME'],
  call: ({ parsed, positionals: [name = ''] }, io) => {
    const domain = requireOption(parsed, 'domain');
    return withClients(io, async (ctx) => {
      const bundle = await invoke(ctx, 'ras', (ras) => ras.getBundle, { domain, name });
      const { grants } = await invoke(ctx, 'ras', (ras) => ras.listBundleGrants, { domain, bundle: name });
      return { bundle, grants };
    });
  },
  json: ({ bundle, grants }) => ({
    ...(Bundle.toJSON(bundle) as object),
    grants: grants.map((g) => BundleGrant.toJSON(g)),
  }),
  lines({ bundle, grants }, { parsed, positionals: [name = ''] }) {
    if (grants.length === 0) {
      const domain = requireOption(parsed, 'domain');
      return [
        ...bundleLines(bundle),
        `grants:      none (grant with latchkey bundle grant ${name} --domain ${domain} --user USER --permission USE)`,
      ];
    }
    const table = formatTable(['KIND', 'NAME', 'PERMISSIONS'], grantRows(grants));
    return [...bundleLines(bundle), 'grants:', ...table.map((line) => `  ${line}`)];
  },
});

export const bundleListCommand = callCommand({
  path: ['bundle', 'list'],
  usage: 'latchkey bundle list --domain DOMAIN [--json]',
  summary: 'list the bundles of a domain',
  options,
  call: ({ parsed }, io) => callOnce(io, 'ras', (ras) => ras.listBundles, { domain: requireOption(parsed, 'domain') }),
  json: (res) => ListBundlesResponse.toJSON(res),
  lines: (res) =>
    formatTable(
      ['NAME', 'CREATED', 'CREATED_BY'],
      res.bundles.map((b) => [b.name, b.createdAt, b.createdBy]),
    ),
});

/** The domain, bundle, grantee and permissions of a bundle grant or revoke. */
function grantRequest(parsed: ParsedArgs, bundle: string, permissionsRequired: boolean) {
  return {
    domain: requireOption(parsed, 'domain'),
    bundle,
    grantee: granteeFromArgs(parsed),
    permissions: permissionsFromArgs(parsed, permissionsRequired),
  };
}

export const bundleGrantCommand = callCommand({
  path: ['bundle', 'grant'],
  usage:
    'latchkey bundle grant NAME --domain DOMAIN (--user USER | --group GROUP) --permission VIEW,UPDATE,USE [--json]',
  summary: 'grant VIEW, UPDATE and/or USE on a bundle to a user or group (owners and platform admins)',
  options: grantOptions,
  positionals: ['NAME'],
  call: ({ parsed, positionals: [name = ''] }, io) =>
    callKeepingRequest(io, 'ras', (ras) => ras.grantBundle, grantRequest(parsed, name, true)),
  json: ({ res }) => GrantBundleResponse.toJSON(res),
  lines({ req, res }) {
    const who = describeGrantee(req.grantee);
    if (res.granted.length === 0) {
      return [`${who} already holds ${req.permissions.join(', ')} on bundle ${req.bundle}: nothing changed`];
    }
    return [`granted ${listed(res.granted)} on bundle ${req.bundle} in domain ${req.domain} to ${who}`];
  },
});

export const bundleRevokeCommand = callCommand({
  path: ['bundle', 'revoke'],
  usage:
    'latchkey bundle revoke NAME --domain DOMAIN (--user USER | --group GROUP) [--permission VIEW,UPDATE,USE] [--json]',
  summary: 'take permissions on a bundle away from a user or group (all of them without --permission)',
  options: grantOptions,
  positionals: ['NAME'],
  call: ({ parsed, positionals: [name = ''] }, io) =>
    callKeepingRequest(io, 'ras', (ras) => ras.revokeBundle, grantRequest(parsed, name, false)),
  json: ({ res }) => RevokeBundleResponse.toJSON(res),
  lines: ({ req, res }) => [
    `revoked ${listed(res.revoked)} on bundle ${req.bundle} in domain ${req.domain} from ${describeGrantee(req.grantee)}`,
  ],
});
