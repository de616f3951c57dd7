import { ListWorkloadsResponse, Workload } from '@latchkey/proto';
import { booleanOption, parseArgs, requireOption, requirePositionals, stringOption } from '../args-parser.js';
import { call, withClients } from '../../client/client-context.js';
import type { CliIo } from '../../output/cli-io.js';
import type { Command } from '../command.js';
import { workloadLines, workloadStatus } from '../../output/deployment-format.js';
import { formatTable, printJson } from '../../output/table-format.js';
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
  summary: 'show a workload: spec, redeploy policy, staleness, what runs and the secret versions it holds',
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

/** What made a workload stale, short: `db_password (analytics) 1->2`. */
function changedSummary(w: Workload): string {
  return w.staleReasons
    .map((r) => `${r.key} (${r.scope}) ${r.deployedVersion}->${r.currentVersion === 0 ? 'deleted' : r.currentVersion}`)
    .join(', ');
}

export const workloadListCommand: Command = {
  path: ['workload', 'list'],
  usage: 'latchkey workload list [--domain DOMAIN] [--stale] [--json]  (no --domain: every domain you may read)',
  summary: 'list workloads: staleness, redeploy policy, what runs; --stale only the stale ones',
  options: { domain: { type: 'string' }, stale: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    requirePositionals(parsed, []);
    const domain = stringOption(parsed, 'domain') ?? '';
    const stale = booleanOption(parsed, 'stale');
    const res = await withClients(io, (ctx) =>
      call(ctx, 'deployer', ctx.deployer().listWorkloads.bind(ctx.deployer()), { domain, stale }),
    );
    if (booleanOption(parsed, 'json')) {
      printJson(io.out, ListWorkloadsResponse.toJSON(res));
      return 0;
    }
    if (res.workloads.length === 0) {
      const where = domain === '' ? 'in the domains you may read' : `in domain ${domain}`;
      io.out(stale ? `no stale workloads ${where}` : `no workloads ${where}`);
      return 0;
    }
    const header = [
      ...(domain === '' ? ['DOMAIN'] : []),
      'NAME',
      'KIND',
      'STALE',
      'REDEPLOY',
      'STATUS',
      'DEPLOYMENT',
      stale ? 'CHANGED' : 'UPDATED',
    ];
    for (const line of formatTable(
      header,
      res.workloads.map((w) => {
        const { status, deployment } = workloadStatus(w);
        return [
          ...(domain === '' ? [w.domain] : []),
          w.name,
          w.kind,
          w.stale ? 'yes' : 'no',
          w.redeployPolicy?.mode ?? 'manual',
          status,
          deployment,
          stale ? changedSummary(w) : w.updatedAt,
        ];
      }),
    )) {
      io.out(line);
    }
    return 0;
  },
};
