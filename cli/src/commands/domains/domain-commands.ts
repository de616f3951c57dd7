import {
  Domain,
  GrantDomainRoleResponse,
  ListDomainMembersResponse,
  ListDomainsResponse,
  RevokeDomainRoleResponse,
} from '@latchkey/proto';
import { booleanOption, parseArgs, requirePositionals } from '../args-parser.js';
import { call, withClients } from '../../client/client-context.js';
import type { CliIo } from '../../output/cli-io.js';
import type { Command } from '../command.js';
import { describeGrantee, granteeFromArgs, granteeOptions, roleFromArgs } from './grantee-option.js';
import { formatTable, printJson } from '../../output/table-format.js';

export const domainCreateCommand: Command = {
  path: ['domain', 'create'],
  usage: 'latchkey domain create NAME [--json]',
  summary: 'create a domain (a team tenant)',
  options: { json: { type: 'boolean' } },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [name = ''] = requirePositionals(parsed, ['NAME']);
    const domain = await withClients(io, (ctx) => call(ctx, 'ras', ctx.ras().createDomain.bind(ctx.ras()), { name }));
    if (booleanOption(parsed, 'json')) printJson(io.out, Domain.toJSON(domain));
    else io.out(`domain ${domain.name || name} created`);
    return 0;
  },
};

export const domainListCommand: Command = {
  path: ['domain', 'list'],
  usage: 'latchkey domain list [--json]',
  summary: 'list domains',
  options: { json: { type: 'boolean' } },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    requirePositionals(parsed, []);
    const res = await withClients(io, (ctx) => call(ctx, 'ras', ctx.ras().listDomains.bind(ctx.ras()), {}));
    if (booleanOption(parsed, 'json')) {
      printJson(io.out, ListDomainsResponse.toJSON(res));
      return 0;
    }
    for (const line of formatTable(
      ['NAME', 'CREATED', 'CREATED_BY'],
      res.domains.map((d) => [d.name, d.createdAt, d.createdBy]),
    )) {
      io.out(line);
    }
    return 0;
  },
};

const grantOptions = { ...granteeOptions, role: { type: 'string' }, json: { type: 'boolean' } } as const;

export const domainGrantCommand: Command = {
  path: ['domain', 'grant'],
  usage: 'latchkey domain grant DOMAIN (--user USER | --group GROUP) --role owner|maintainer|member [--json]',
  summary: 'give a user or group a role in a domain (replaces the role it held)',
  options: grantOptions,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [domain = ''] = requirePositionals(parsed, ['DOMAIN']);
    const grantee = granteeFromArgs(parsed);
    const role = roleFromArgs(parsed, true);
    const res = await withClients(io, (ctx) =>
      call(ctx, 'ras', ctx.ras().grantDomainRole.bind(ctx.ras()), { domain, grantee, role }),
    );
    if (booleanOption(parsed, 'json')) {
      printJson(io.out, GrantDomainRoleResponse.toJSON(res));
      return 0;
    }
    const who = describeGrantee(res.grant?.grantee ?? grantee);
    if (!res.changed) io.out(`${who} already is ${role} in domain ${domain}: nothing changed`);
    else io.out(`${who} is now ${role} in domain ${domain}${res.previousRole ? ` (was ${res.previousRole})` : ''}`);
    return 0;
  },
};

export const domainRevokeCommand: Command = {
  path: ['domain', 'revoke'],
  usage: 'latchkey domain revoke DOMAIN (--user USER | --group GROUP) [--role ROLE] [--json]',
  summary: "take a user's or group's role in a domain away (with --role, only if it is that role)",
  options: grantOptions,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [domain = ''] = requirePositionals(parsed, ['DOMAIN']);
    const grantee = granteeFromArgs(parsed);
    const role = roleFromArgs(parsed, false);
    const res = await withClients(io, (ctx) =>
      call(ctx, 'ras', ctx.ras().revokeDomainRole.bind(ctx.ras()), { domain, grantee, role }),
    );
    if (booleanOption(parsed, 'json')) printJson(io.out, RevokeDomainRoleResponse.toJSON(res));
    else io.out(`${describeGrantee(grantee)} is no longer ${res.revoked?.role ?? role} in domain ${domain}`);
    return 0;
  },
};

export const domainMembersCommand: Command = {
  path: ['domain', 'members'],
  usage: 'latchkey domain members DOMAIN [--json]',
  summary: 'list who holds which role in a domain',
  options: { json: { type: 'boolean' } },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [domain = ''] = requirePositionals(parsed, ['DOMAIN']);
    const res = await withClients(io, (ctx) =>
      call(ctx, 'ras', ctx.ras().listDomainMembers.bind(ctx.ras()), { domain }),
    );
    if (booleanOption(parsed, 'json')) {
      printJson(io.out, ListDomainMembersResponse.toJSON(res));
      return 0;
    }
    if (res.members.length === 0) {
      io.out(
        `no one holds a role in domain ${domain}: grant one with latchkey domain grant ${domain} --user USER --role ROLE`,
      );
      return 0;
    }
    for (const line of formatTable(
      ['KIND', 'NAME', 'ROLE', 'GRANTED', 'GRANTED_BY'],
      res.members.map((m) => [m.grantee?.kind ?? '', m.grantee?.id ?? '', m.role, m.grantedAt, m.grantedBy]),
    )) {
      io.out(line);
    }
    return 0;
  },
};
