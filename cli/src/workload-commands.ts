import { ListWorkloadsResponse, Workload } from '@latchkey/proto';
import { booleanOption, parseArgs, requireOption, requirePositionals } from './args-parser.js';
import { call, withClients } from './client-context.js';
import type { CliIo } from './cli-io.js';
import type { Command } from './command-types.js';
import { workloadLines } from './deployment-format.js';
import { formatTable, printJson } from './table-format.js';
import { readWorkloadFile } from './workload-file.js';

export const workloadApplyCommand: Command = {
  path: ['workload', 'apply'],
  usage: 'latchkey workload apply -f FILE --domain DOMAIN [--json]  (FILE - reads stdin)',
  summary: 'create or update a workload from a JSON spec',
  options: { file: { type: 'string', short: 'f' }, domain: { type: 'string' }, json: { type: 'boolean' } },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    requirePositionals(parsed, []);
    const file = requireOption(parsed, 'file');
    const domain = requireOption(parsed, 'domain');
    const specJson = await readWorkloadFile(file, io.stdin);
    const w = await withClients(io, (ctx) =>
      call(ctx, 'deployer', ctx.deployer().applyWorkload.bind(ctx.deployer()), { domain, specJson }),
    );
    if (booleanOption(parsed, 'json')) {
      printJson(io.out, Workload.toJSON(w));
      return 0;
    }
    io.out(`workload ${w.name} applied`);
    for (const warning of w.warnings) io.out(`warning: ${warning}`);
    return 0;
  },
};

export const workloadGetCommand: Command = {
  path: ['workload', 'get'],
  usage: 'latchkey workload get NAME --domain DOMAIN [--json]',
  summary: 'show a workload: spec, staleness, last deployment',
  options: { domain: { type: 'string' }, json: { type: 'boolean' } },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [name = ''] = requirePositionals(parsed, ['NAME']);
    const domain = requireOption(parsed, 'domain');
    const w = await withClients(io, (ctx) =>
      call(ctx, 'deployer', ctx.deployer().getWorkload.bind(ctx.deployer()), { domain, name }),
    );
    if (booleanOption(parsed, 'json')) printJson(io.out, Workload.toJSON(w));
    else for (const line of workloadLines(w)) io.out(line);
    return 0;
  },
};

export const workloadListCommand: Command = {
  path: ['workload', 'list'],
  usage: 'latchkey workload list --domain DOMAIN [--json]',
  summary: 'list the workloads of a domain',
  options: { domain: { type: 'string' }, json: { type: 'boolean' } },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    requirePositionals(parsed, []);
    const domain = requireOption(parsed, 'domain');
    const res = await withClients(io, (ctx) =>
      call(ctx, 'deployer', ctx.deployer().listWorkloads.bind(ctx.deployer()), { domain }),
    );
    if (booleanOption(parsed, 'json')) {
      printJson(io.out, ListWorkloadsResponse.toJSON(res));
      return 0;
    }
    for (const line of formatTable(
      ['NAME', 'KIND', 'STALE', 'LAST_DEPLOYMENT', 'STATUS', 'UPDATED'],
      res.workloads.map((w) => [
        w.name,
        w.kind,
        w.stale ? 'yes' : 'no',
        w.lastDeployment?.id ?? '-',
        w.lastDeployment?.status ?? '-',
        w.updatedAt,
      ]),
    )) {
      io.out(line);
    }
    return 0;
  },
};
