import { WorkloadTestResult } from '@latchkey/proto';
import { withClients, invoke } from '../../client/client-context.js';
import { referenceRows } from '../../output/deployment-format.js';
import { printJson, printLines } from '../../output/table-format.js';
import { requireOption } from '../args-parser.js';
import { defineCommand, JSON_OPTION } from '../command.js';

/** A connection test as people read it: the outcome and where, the references used, the warnings. */
export function testLines(r: WorkloadTestResult): string[] {
  const where = `bucket ${r.bucket} at ${r.endpoint || `the AWS endpoint of ${r.region}`} (region ${r.region})`;
  return [
    r.ok
      ? `connection test of ${r.workload}: ok: ${where}${r.httpStatus ? ` answered HTTP ${r.httpStatus}` : ''}; nothing was started`
      : `connection test of ${r.workload} failed: ${r.message} [${r.code}]; ${where}; nothing was started`,
    ...referenceRows(r.references),
    ...r.warnings.map((w) => `warning: ${w}`),
  ];
}

export const workloadTestCommand = defineCommand({
  path: ['workload', 'test'],
  usage: 'latchkey workload test NAME --domain DOMAIN [--json]',
  summary:
    "test a STORAGE_CONFIG's connection: its credentials resolved as for a deployment, one signed S3 request to its endpoint",
  options: { domain: { type: 'string' }, ...JSON_OPTION },
  positionals: ['NAME'],
  async run({ parsed, positionals: [name = ''], json }, io) {
    const domain = requireOption(parsed, 'domain');
    return withClients(io, async (ctx) => {
      const r = await invoke(ctx, 'deployer', (deployer) => deployer.testWorkload, { domain, name });
      if (json) printJson(io.out, WorkloadTestResult.toJSON(r));
      else printLines(io.out, testLines(r));
      return r.ok ? 0 : 1;
    });
  },
});
