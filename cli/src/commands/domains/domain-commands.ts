import {
  Domain,
  GrantDomainRoleResponse,
  ListDomainMembersResponse,
  ListDomainsResponse,
  RevokeDomainRoleResponse,
} from '@latchkey/proto';
import { callOnce } from '../../client/client-context.js';
import { printJson, printTable } from '../../output/table-format.js';
import { defineCommand, JSON_OPTION } from '../command.js';
import { describeGrantee, granteeFromArgs, granteeOptions, roleFromArgs } from './grantee-option.js';

export const domainCreateCommand = defineCommand({
  path: ['domain', 'create'],
  usage: 'latchkey domain create NAME [--json]',
  summary: 'create a domain (a team tenant)',
  options: JSON_OPTION,
  positionals: ['NAME'],
  async run({ positionals: [name = ''], json }, io) {
    const domain = await callOnce(io, 'ras', (ras) => ras.createDomain, { name });
    if (json) return printJson(io.out, Domain.toJSON(domain));
    io.out(`domain ${domain.name || name} created`);
    return 0;
  },
});

export const domainListCommand = defineCommand({
  path: ['domain', 'list'],
  usage: 'latchkey domain list [--json]',
  summary: 'list domains',
  options: JSON_OPTION,
  async run({ json }, io) {
    const res = await callOnce(io, 'ras', (ras) => ras.listDomains, {});
    if (json) return printJson(io.out, ListDomainsResponse.toJSON(res));
    printTable(
      io.out,
      ['NAME', 'CREATED', 'CREATED_BY'],
      res.domains.map((d) => [d.name, d.createdAt, d.createdBy]),
    );
    return 0;
  },
});

const grantOptions = { ...granteeOptions, role: { type: 'string' }, ...JSON_OPTION } as const;

export const domainGrantCommand = defineCommand({
  path: ['domain', 'grant'],
  usage: 'latchkey domain grant DOMAIN (--user USER | --group GROUP) --role owner|maintainer|member [--json]',
  summary: 'give a user or group a role in a domain (replaces the role it held)',
  options: grantOptions,
  positionals: ['DOMAIN'],
  async run({ parsed, positionals: [domain = ''], json }, io) {
    const grantee = granteeFromArgs(parsed);
    const role = roleFromArgs(parsed, true);
    const res = await callOnce(io, 'ras', (ras) => ras.grantDomainRole, { domain, grantee, role });
    if (json) return printJson(io.out, GrantDomainRoleResponse.toJSON(res));
    const who = describeGrantee(res.grant?.grantee ?? grantee);
    if (!res.changed) io.out(`${who} already is ${role} in domain ${domain}: nothing changed`);
    else io.out(`${who} is now ${role} in domain ${domain}${res.previousRole ? ` (was ${res.previousRole})` : ''}`);
    return 0;
  },
});

export const domainRevokeCommand = defineCommand({
  path: ['domain', 'revoke'],
  usage: 'latchkey domain revoke DOMAIN (--user USER | --group GROUP) [--role ROLE] [--json]',
  summary: "take a user's or group's role in a domain away (with --role, only if it is that role)",
  options: grantOptions,
  positionals: ['DOMAIN'],
  async run({ parsed, positionals: [domain = ''], json }, io) {
    const grantee = granteeFromArgs(parsed);
    const role = roleFromArgs(parsed, false);
    const res = await callOnce(io, 'ras', (ras) => ras.revokeDomainRole, { domain, grantee, role });
    if (json) return printJson(io.out, RevokeDomainRoleResponse.toJSON(res));
    io.out(`${describeGrantee(grantee)} is no longer ${res.revoked?.role ?? role} in domain ${domain}`);
    return 0;
  },
});

export const domainMembersCommand = defineCommand({
  path: ['domain', 'members'],
  usage: 'latchkey domain members DOMAIN [--json]',
  summary: 'list who holds which role in a domain',
  options: JSON_OPTION,
  positionals: ['DOMAIN'],
  async run({ positionals: [domain = ''], json }, io) {
    const res = await callOnce(io, 'ras', (ras) => ras.listDomainMembers, { domain });
    if (json) return printJson(io.out, ListDomainMembersResponse.toJSON(res));
    if (res.members.length === 0) {
      io.out(
        `no one holds a role in domain ${domain}: grant one with latchkey domain grant ${domain} --user USER --role ROLE`,
      );
      return 0;
    }
    printTable(
      io.out,
      ['KIND', 'NAME', 'ROLE', 'GRANTED', 'GRANTED_BY'],
      res.members.map((m) => [m.grantee?.kind ?? '', m.grantee?.id ?? '', m.role, m.grantedAt, m.grantedBy]),
    );
    return 0;
  },
});
