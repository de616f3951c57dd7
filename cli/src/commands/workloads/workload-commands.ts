import { ListWorkloadsResponse, Workload } from '@latchkey/proto';
import { booleanOption, requireOption, stringOption } from '../args-parser.js';
import { callOnce } from '../../client/client-context.js';
import { callCommand, JSON_OPTION } from '../command.js';
import { workloadLines, workloadStatus } from '../../output/deployment-format.js';
import { formatTable } from '../../output/table-format.js';
import { readWorkloadFile } from './workload-file.js';

export const workloadApplyCommand = callCommand({
  path: ['workload', 'apply'],
  usage: 'latchkey workload apply -f|--file FILE --domain DOMAIN [--json]  (FILE - reads stdin)',
  summary: 'create or update a workload from a JSON spec',
  options: { file: { type: 'string', short: 'f' }, domain: { type: 'string' }, ...JSON_OPTION },
  async call({ parsed }, io) {
    const file = requireOption(parsed, 'file');
    const domain = requireOption(parsed, 'domain');
    const specJson = await readWorkloadFile(file, io.stdin);
    return callOnce(io, 'deployer', (deployer) => deployer.applyWorkload, { domain, specJson });
  },
  json: (w) => Workload.toJSON(w),
  lines: (w) => [`workload ${w.name} applied`, ...w.warnings.map((warning) => `warning: ${warning}`)],
});

export const workloadGetCommand = callCommand({
  path: ['workload', 'get'],
  usage: 'latchkey workload get NAME --domain DOMAIN [--json]',
  summary: 'show a workload: spec, redeploy policy, staleness, what runs and the secret versions it holds',
  options: { domain: { type: 'string' }, ...JSON_OPTION },
  positionals: ['NAME'],
  call: ({ parsed, positionals: [name = ''] }, io) =>
    callOnce(io, 'deployer', (deployer) => deployer.getWorkload, { domain: requireOption(parsed, 'domain'), name }),
  json: (w) => Workload.toJSON(w),
  lines: (w) => workloadLines(w),
});

/** What made a workload stale, short: `db_password (analytics) 1->2`. */
function changedSummary(w: Workload): string {
  return w.staleReasons
    .map((r) => `${r.key} (${r.scope}) ${r.deployedVersion}->${r.currentVersion === 0 ? 'deleted' : r.currentVersion}`)
    .join(', ');
}

export const workloadListCommand = callCommand({
  path: ['workload', 'list'],
  usage: 'latchkey workload list [--domain DOMAIN] [--stale] [--json]  (no --domain: every domain you may read)',
  summary: 'list workloads: staleness, redeploy policy, what runs; --stale only the stale ones',
  options: { domain: { type: 'string' }, stale: { type: 'boolean' }, ...JSON_OPTION },
  call: ({ parsed }, io) => {
    const req = { domain: stringOption(parsed, 'domain') ?? '', stale: booleanOption(parsed, 'stale') };
    return callOnce(io, 'deployer', (deployer) => deployer.listWorkloads, req);
  },
  json: (res) => ListWorkloadsResponse.toJSON(res),
  lines(res, { parsed }) {
    const domain = stringOption(parsed, 'domain') ?? '';
    const stale = booleanOption(parsed, 'stale');
    if (res.workloads.length === 0) {
      const where = domain === '' ? 'in the domains you may read' : `in domain ${domain}`;
      return [stale ? `no stale workloads ${where}` : `no workloads ${where}`];
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
    return formatTable(
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
  },
});
