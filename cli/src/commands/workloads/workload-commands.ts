import { ListWorkloadsResponse, Workload } from '@latchkey/proto';
import { booleanOption, requireOption, stringOption } from '../args-parser.js';
import { callOnce } from '../../client/client-context.js';
import { defineCommand, JSON_OPTION } from '../command.js';
import { workloadLines, workloadStatus } from '../../output/deployment-format.js';
import { printJson, printLines, printTable } from '../../output/table-format.js';
import { readWorkloadFile } from './workload-file.js';

export const workloadApplyCommand = defineCommand({
  path: ['workload', 'apply'],
  usage: 'latchkey workload apply -f FILE --domain DOMAIN [--json]  (FILE - reads stdin)',
  summary: 'create or update a workload from a JSON spec',
  options: { file: { type: 'string', short: 'f' }, domain: { type: 'string' }, ...JSON_OPTION },
  async run({ parsed, json }, io) {
    const file = requireOption(parsed, 'file');
    const domain = requireOption(parsed, 'domain');
    const specJson = await readWorkloadFile(file, io.stdin);
    const w = await callOnce(io, 'deployer', (deployer) => deployer.applyWorkload, { domain, specJson });
    if (json) return printJson(io.out, Workload.toJSON(w));
    io.out(`workload ${w.name} applied`);
    for (const warning of w.warnings) io.out(`warning: ${warning}`);
    return 0;
  },
});

export const workloadGetCommand = defineCommand({
  path: ['workload', 'get'],
  usage: 'latchkey workload get NAME --domain DOMAIN [--json]',
  summary: 'show a workload: spec, redeploy policy, staleness, what runs and the secret versions it holds',
  options: { domain: { type: 'string' }, ...JSON_OPTION },
  positionals: ['NAME'],
  async run({ parsed, positionals: [name = ''], json }, io) {
    const domain = requireOption(parsed, 'domain');
    const w = await callOnce(io, 'deployer', (deployer) => deployer.getWorkload, { domain, name });
    if (json) return printJson(io.out, Workload.toJSON(w));
    printLines(io.out, workloadLines(w));
    return 0;
  },
});

/** What made a workload stale, short: `db_password (analytics) 1->2`. */
function changedSummary(w: Workload): string {
  return w.staleReasons
    .map((r) => `${r.key} (${r.scope}) ${r.deployedVersion}->${r.currentVersion === 0 ? 'deleted' : r.currentVersion}`)
    .join(', ');
}

export const workloadListCommand = defineCommand({
  path: ['workload', 'list'],
  usage: 'latchkey workload list [--domain DOMAIN] [--stale] [--json]  (no --domain: every domain you may read)',
  summary: 'list workloads: staleness, redeploy policy, what runs; --stale only the stale ones',
  options: { domain: { type: 'string' }, stale: { type: 'boolean' }, ...JSON_OPTION },
  async run({ parsed, json }, io) {
    const domain = stringOption(parsed, 'domain') ?? '';
    const stale = booleanOption(parsed, 'stale');
    const res = await callOnce(io, 'deployer', (deployer) => deployer.listWorkloads, { domain, stale });
    if (json) return printJson(io.out, ListWorkloadsResponse.toJSON(res));
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
    printTable(
      io.out,
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
    );
    return 0;
  },
});
