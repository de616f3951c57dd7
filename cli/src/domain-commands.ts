import { Domain, ListDomainsResponse } from '@latchkey/proto';
import { booleanOption, parseArgs, requirePositionals } from './args-parser.js';
import { call, withClients } from './client-context.js';
import type { CliIo } from './cli-io.js';
import type { Command } from './command-types.js';
import { formatTable, printJson } from './table-format.js';

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
