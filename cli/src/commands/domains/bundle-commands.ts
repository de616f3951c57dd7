import { Bundle, BundleGrant, GrantBundleResponse, ListBundlesResponse, RevokeBundleResponse } from '@latchkey/proto';
import { booleanOption, parseArgs, requireOption, requirePositionals } from '../args-parser.js';
import { call, withClients } from '../../client/client-context.js';
import type { CliIo } from '../../output/cli-io.js';
import type { Command } from '../command.js';
import { describeGrantee, granteeFromArgs, granteeOptions, permissionsFromArgs } from './grantee-option.js';
import { formatTable, printJson } from '../../output/table-format.js';

const options = { domain: { type: 'string' }, json: { type: 'boolean' } } as const;
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

export const bundleCreateCommand: Command = {
  path: ['bundle', 'create'],
  usage: 'latchkey bundle create NAME --domain DOMAIN [--json]',
  summary: 'create a bundle (a named access-control object of a domain; owners and platform admins)',
  options,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [name = ''] = requirePositionals(parsed, ['NAME']);
    const domain = requireOption(parsed, 'domain');
    const b = await withClients(io, (ctx) =>
      call(ctx, 'ras', ctx.ras().createBundle.bind(ctx.ras()), { domain, name }),
    );
    if (booleanOption(parsed, 'json')) printJson(io.out, Bundle.toJSON(b));
    else io.out(`bundle ${b.name || name} created in domain ${b.domain || domain}`);
    return 0;
  },
};

export const bundleShowCommand: Command = {
  path: ['bundle', 'show'],
  usage: 'latchkey bundle show NAME --domain DOMAIN [--json]',
  summary: 'show a bundle and its grants',
  options,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [name = ''] = requirePositionals(parsed, ['NAME']);
    const domain = requireOption(parsed, 'domain');
    const { bundle, grants } = await withClients(io, async (ctx) => {
      const ras = ctx.ras();
      const b = await call(ctx, 'ras', ras.getBundle.bind(ras), { domain, name });
      const g = await call(ctx, 'ras', ras.listBundleGrants.bind(ras), { domain, bundle: name });
      return { bundle: b, grants: g.grants };
    });
    if (booleanOption(parsed, 'json')) {
      printJson(io.out, { ...(Bundle.toJSON(bundle) as object), grants: grants.map((g) => BundleGrant.toJSON(g)) });
      return 0;
    }
    for (const line of bundleLines(bundle)) io.out(line);
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
};

export const bundleListCommand: Command = {
  path: ['bundle', 'list'],
  usage: 'latchkey bundle list --domain DOMAIN [--json]',
  summary: 'list the bundles of a domain',
  options,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    requirePositionals(parsed, []);
    const domain = requireOption(parsed, 'domain');
    const res = await withClients(io, (ctx) => call(ctx, 'ras', ctx.ras().listBundles.bind(ctx.ras()), { domain }));
    if (booleanOption(parsed, 'json')) {
      printJson(io.out, ListBundlesResponse.toJSON(res));
      return 0;
    }
    for (const line of formatTable(
      ['NAME', 'CREATED', 'CREATED_BY'],
      res.bundles.map((b) => [b.name, b.createdAt, b.createdBy]),
    )) {
      io.out(line);
    }
    return 0;
  },
};

export const bundleGrantCommand: Command = {
  path: ['bundle', 'grant'],
  usage:
    'latchkey bundle grant NAME --domain DOMAIN (--user USER | --group GROUP) --permission VIEW,UPDATE,USE [--json]',
  summary: 'grant VIEW, UPDATE and/or USE on a bundle to a user or group (owners and platform admins)',
  options: grantOptions,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [name = ''] = requirePositionals(parsed, ['NAME']);
    const domain = requireOption(parsed, 'domain');
    const grantee = granteeFromArgs(parsed);
    const permissions = permissionsFromArgs(parsed, true);
    const res = await withClients(io, (ctx) =>
      call(ctx, 'ras', ctx.ras().grantBundle.bind(ctx.ras()), { domain, bundle: name, grantee, permissions }),
    );
    if (booleanOption(parsed, 'json')) printJson(io.out, GrantBundleResponse.toJSON(res));
    else if (res.granted.length === 0)
      io.out(`${describeGrantee(grantee)} already holds ${permissions.join(', ')} on bundle ${name}: nothing changed`);
    else io.out(`granted ${listed(res.granted)} on bundle ${name} in domain ${domain} to ${describeGrantee(grantee)}`);
    return 0;
  },
};

export const bundleRevokeCommand: Command = {
  path: ['bundle', 'revoke'],
  usage:
    'latchkey bundle revoke NAME --domain DOMAIN (--user USER | --group GROUP) [--permission VIEW,UPDATE,USE] [--json]',
  summary: 'take permissions on a bundle away from a user or group (all of them without --permission)',
  options: grantOptions,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [name = ''] = requirePositionals(parsed, ['NAME']);
    const domain = requireOption(parsed, 'domain');
    const grantee = granteeFromArgs(parsed);
    const permissions = permissionsFromArgs(parsed, false);
    const res = await withClients(io, (ctx) =>
      call(ctx, 'ras', ctx.ras().revokeBundle.bind(ctx.ras()), { domain, bundle: name, grantee, permissions }),
    );
    if (booleanOption(parsed, 'json')) printJson(io.out, RevokeBundleResponse.toJSON(res));
    else
      io.out(`revoked ${listed(res.revoked)} on bundle ${name} in domain ${domain} from ${describeGrantee(grantee)}`);
    return 0;
  },
};
