import { Bundle, ListBundlesResponse } from '@latchkey/proto';
import { booleanOption, parseArgs, requireOption, requirePositionals } from './args-parser.js';
import { call, withClients } from './client-context.js';
import type { CliIo } from './cli-io.js';
import type { Command } from './command-types.js';
import { formatTable, printJson } from './table-format.js';

const options = { domain: { type: 'string' }, json: { type: 'boolean' } } as const;

function bundleLines(b: Bundle): string[] {
  return [
    `bundle:      ${b.name}`,
    `domain:      ${b.domain}`,
    `created:     ${b.createdAt}`,
    `created by:  ${b.createdBy}`,
  ];
}

export const bundleCreateCommand: Command = {
  path: ['bundle', 'create'],
  usage: 'latchkey bundle create NAME --domain DOMAIN [--json]',
  summary: 'create a bundle (a named access-control object of a domain)',
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
  summary: 'show a bundle',
  options,
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [name = ''] = requirePositionals(parsed, ['NAME']);
    const domain = requireOption(parsed, 'domain');
    const b = await withClients(io, (ctx) => call(ctx, 'ras', ctx.ras().getBundle.bind(ctx.ras()), { domain, name }));
    if (booleanOption(parsed, 'json')) printJson(io.out, Bundle.toJSON(b));
    else for (const line of bundleLines(b)) io.out(line);
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
