import {
  Domain,
  GrantDomainRoleResponse,
  ListDomainMembersResponse,
  ListDomainsResponse,
  RevokeDomainRoleResponse,
} from '@latchkey/proto';
import { callKeepingRequest, callOnce } from '../../client/client-context.js';
import { formatTable } from '../../output/table-format.js';
import { callCommand, JSON_OPTION } from '../command.js';
import { describeGrantee, granteeFromArgs, granteeOptions, roleFromArgs } from './grantee-option.js';

export const domainCreateCommand = callCommand({
  path: ['domain', 'create'],
  usage: 'latchkey domain create NAME [--json]',
  summary: 'create a domain (a team tenant)',
  options: JSON_OPTION,
  positionals: ['NAME'],
  call: ({ positionals: [name = ''] }, io) => callOnce(io, 'ras', (ras) => ras.createDomain, { name }),
  json: (domain) => Domain.toJSON(domain),
  lines: (domain, { positionals: [name] }) => [`domain ${domain.name || name} created`],
});

export const domainListCommand = callCommand({
  path: ['domain', 'list'],
  usage: 'latchkey domain list [--json]',
  summary: 'list domains',
  options: JSON_OPTION,
  call: (_args, io) => callOnce(io, 'ras', (ras) => ras.listDomains, {}),
  json: (res) => ListDomainsResponse.toJSON(res),
  lines: (res) =>
    formatTable(
      ['NAME', 'CREATED', 'CREATED_BY'],
      res.domains.map((d) => [d.name, d.createdAt, d.createdBy]),
    ),
});

const grantOptions = { ...granteeOptions, role: { type: 'string' }, ...JSON_OPTION } as const;

export const domainGrantCommand = callCommand({
  path: ['domain', 'grant'],
  usage: 'latchkey domain grant DOMAIN (--user USER | --group GROUP) --role owner|maintainer|member [--json]',
  summary: 'give a user or group a role in a domain (replaces the role it held)',
  options: grantOptions,
  positionals: ['DOMAIN'],
  call: ({ parsed, positionals: [domain = ''] }, io) =>
    callKeepingRequest(io, 'ras', (ras) => ras.grantDomainRole, {
      domain,
      grantee: granteeFromArgs(parsed),
      role: roleFromArgs(parsed, true),
    }),
  json: ({ res }) => GrantDomainRoleResponse.toJSON(res),
  lines({ req: { domain, grantee, role }, res }) {
    const who = describeGrantee(res.grant?.grantee ?? grantee);
    if (!res.changed) return [`${who} already is ${role} in domain ${domain}: nothing changed`];
    return [`${who} is now ${role} in domain ${domain}${res.previousRole ? ` (was ${res.previousRole})` : ''}`];
  },
});

export const domainRevokeCommand = callCommand({
  path: ['domain', 'revoke'],
  usage: 'latchkey domain revoke DOMAIN (--user USER | --group GROUP) [--role ROLE] [--json]',
  summary: "take a user's or group's role in a domain away (with --role, only if it is that role)",
  options: grantOptions,
  positionals: ['DOMAIN'],
  call: ({ parsed, positionals: [domain = ''] }, io) =>
    callKeepingRequest(io, 'ras', (ras) => ras.revokeDomainRole, {
      domain,
      grantee: granteeFromArgs(parsed),
      role: roleFromArgs(parsed, false),
    }),
  json: ({ res }) => RevokeDomainRoleResponse.toJSON(res),
  lines: ({ req: { domain, grantee, role }, res }) => [
    `${describeGrantee(grantee)} is no longer ${res.revoked?.role ?? role} in domain ${domain}`,
  ],
});

export const domainMembersCommand = callCommand({
  path: ['domain', 'members'],
  usage: 'latchkey domain members DOMAIN [--json]',
  summary: 'list who holds which role in a domain',
  options: JSON_OPTION,
  positionals: ['DOMAIN'],
  call: ({ positionals: [domain = ''] }, io) => callOnce(io, 'ras', (ras) => ras.listDomainMembers, { domain }),
  json: (res) => ListDomainMembersResponse.toJSON(res),
  lines(res, { positionals: [domain = ''] }) {
    if (res.members.length === 0) {
      return [
        `no one holds a role in domain ${domain}: grant one with latchkey domain grant ${domain} --user USER --role ROLE`,
      ];
    }
    return formatTable(
      ['KIND', 'NAME', 'ROLE', 'GRANTED', 'GRANTED_BY'],
      res.members.map((m) => [m.grantee?.kind ?? '', m.grantee?.id ?? '', m.role, m.grantedAt, m.grantedBy]),
    );
  },
});
