import { Bundle, BundleGrant, GrantBundleResponse, ListBundlesResponse, RevokeBundleResponse } from '@latchkey/proto';
import { requireOption, type ParsedArgs } from '../args-parser.js';
import { callOnce, invoke, withClients } from '../../client/client-context.js';
import { defineCommand, JSON_OPTION } from '../command.js';
import { describeGrantee, granteeFromArgs, granteeOptions, permissionsFromArgs } from './grantee-option.js';
import { formatTable, printJson, printLines, printTable } from '../../output/table-format.js';

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

export const bundleCreateCommand = defineCommand({
  path: ['bundle', 'create'],
  usage: 'latchkey bundle create NAME --domain DOMAIN [--json]',
  summary: 'create a bundle (a named access-control object of a domain; owners and platform admins)',
  options,
  positionals: ['NAME'],
  async run({ parsed, positionals: [name = ''], json }, io) {
    const domain = requireOption(parsed, 'domain');
    const b = await callOnce(io, 'ras', (ras) => ras.createBundle, { domain, name });
    if (json) return printJson(io.out, Bundle.toJSON(b));
    io.out(`bundle ${b.name || name} created in domain ${b.domain || domain}`);
    return 0;
  },
});

export const bundleShowCommand = defineCommand({
  path: ['bundle', 'show'],
  usage: 'latchkey bundle show NAME --domain DOMAIN [--json]',
  summary: 'show a bundle and its grants',
  options,
  positionals: ['NAME'],
  async run({ parsed, positionals: [name = ''], json }, io) {
    const domain = requireOption(parsed, 'domain');
    const { bundle, grants } = await withClients(io, async (ctx) => {
      const b = await invoke(ctx, 'ras', (ras) => ras.getBundle, { domain, name });
      const g = await invoke(ctx, 'ras', (ras) => ras.listBundleGrants, { domain, bundle: name });
      return { bundle: b, grants: g.grants };
    });
    if (json) {
      return printJson(io.out, {
        ...(Bundle.toJSON(bundle) as object),
        grants: grants.map((g) => BundleGrant.toJSON(g)),
      });
    }
    printLines(io.out, bundleLines(bundle));
    if (grants.length === 0) {
      io.out(
        `grants:      none (grant with latchkey bundle grant ${name} --domain ${domain} --user USER --permission USE)`,
      );
      return 0;
    }
    io.out('grants:');
    for (const line of formatTable(['KIND', 'NAME', 'PERMISSIONS'], grantRows(grants))) io.out(`  ${line}`);
    return 0;
  },
});

export const bundleListCommand = defineCommand({
  path: ['bundle', 'list'],
  usage: 'latchkey bundle list --domain DOMAIN [--json]',
  summary: 'list the bundles of a domain',
  options,
  async run({ parsed, json }, io) {
    const domain = requireOption(parsed, 'domain');
    const res = await callOnce(io, 'ras', (ras) => ras.listBundles, { domain });
    if (json) return printJson(io.out, ListBundlesResponse.toJSON(res));
    printTable(
      io.out,
      ['NAME', 'CREATED', 'CREATED_BY'],
      res.bundles.map((b) => [b.name, b.createdAt, b.createdBy]),
    );
    return 0;
  },
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

export const bundleGrantCommand = defineCommand({
  path: ['bundle', 'grant'],
  usage:
    'latchkey bundle grant NAME --domain DOMAIN (--user USER | --group GROUP) --permission VIEW,UPDATE,USE [--json]',
  summary: 'grant VIEW, UPDATE and/or USE on a bundle to a user or group (owners and platform admins)',
  options: grantOptions,
  positionals: ['NAME'],
  async run({ parsed, positionals: [name = ''], json }, io) {
    const req = grantRequest(parsed, name, true);
    const res = await callOnce(io, 'ras', (ras) => ras.grantBundle, req);
    if (json) return printJson(io.out, GrantBundleResponse.toJSON(res));
    const who = describeGrantee(req.grantee);
    if (res.granted.length === 0)
      io.out(`${who} already holds ${req.permissions.join(', ')} on bundle ${name}: nothing changed`);
    else io.out(`granted ${listed(res.granted)} on bundle ${name} in domain ${req.domain} to ${who}`);
    return 0;
  },
});

export const bundleRevokeCommand = defineCommand({
  path: ['bundle', 'revoke'],
  usage:
    'latchkey bundle revoke NAME --domain DOMAIN (--user USER | --group GROUP) [--permission VIEW,UPDATE,USE] [--json]',
  summary: 'take permissions on a bundle away from a user or group (all of them without --permission)',
  options: grantOptions,
  positionals: ['NAME'],
  async run({ parsed, positionals: [name = ''], json }, io) {
    const req = grantRequest(parsed, name, false);
    const res = await callOnce(io, 'ras', (ras) => ras.revokeBundle, req);
    if (json) return printJson(io.out, RevokeBundleResponse.toJSON(res));
    io.out(
      `revoked ${listed(res.revoked)} on bundle ${name} in domain ${req.domain} from ${describeGrantee(req.grantee)}`,
    );
    return 0;
  },
});
