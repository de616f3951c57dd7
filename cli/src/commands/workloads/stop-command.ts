import { StopWorkloadResponse } from '@latchkey/proto';
import { invoke, withClients } from '../../client/client-context.js';
import { deploymentLines, ENDED_STATUSES } from '../../output/deployment-format.js';
import { printJson, printLines } from '../../output/table-format.js';
import { booleanOption, requireOption } from '../args-parser.js';
import { defineCommand } from '../command.js';
import { deploymentJson, timeoutMsOption, WAIT_OPTIONS, waitForEach } from './deployment-wait.js';

export const stopCommand = defineCommand({
  path: ['stop'],
  usage: 'latchkey stop NAME --domain DOMAIN [--no-wait] [--timeout SECONDS] [--json]',
  summary: 'stop a workload wherever it runs (waits until it has stopped unless --no-wait)',
  options: { ...WAIT_OPTIONS, 'no-wait': { type: 'boolean' } },
  positionals: ['NAME'],
  async run({ parsed, positionals: [name = ''], json }, io) {
    const domain = requireOption(parsed, 'domain');
    const wait = !booleanOption(parsed, 'no-wait');
    const timeoutMs = timeoutMsOption(parsed);
    return withClients(io, async (ctx) => {
      const res = await invoke(ctx, 'deployer', (deployer) => deployer.stopWorkload, { domain, name });
      if (res.alreadyStopped) {
        if (json) return printJson(io.out, StopWorkloadResponse.toJSON(res));
        io.out(`workload ${name} is already stopped (deployment ${res.deployments[0]?.id ?? '-'})`);
        return 0;
      }
      if (wait && !json) {
        for (const d of res.deployments.filter((d) => !ENDED_STATUSES.has(d.status)))
          io.out(`deployment ${d.id} ${d.status}; stopping...`);
      }
      // A deployment that could not be waited for is reported with why, beside the others.
      const outcomes = wait
        ? await waitForEach(ctx, domain, res.deployments, timeoutMs, (d) => ENDED_STATUSES.has(d.status))
        : res.deployments.map((deployment) => ({ deployment, error: undefined }));
      const exitCode = outcomes.some((o) => o.error !== undefined) ? 1 : 0;
      if (json) {
        printJson(io.out, {
          deployments: outcomes.map((o) => deploymentJson(o.deployment, o.error)),
          alreadyStopped: false,
        });
        return exitCode;
      }
      for (const { deployment: d, error } of outcomes) {
        if (error !== undefined) io.out(`deployment ${d.id}: ${error}`);
        else if (ENDED_STATUSES.has(d.status)) printLines(io.out, deploymentLines(d));
        else
          io.out(
            `deployment ${d.id} ${d.status}: asked to stop; latchkey workload get ${name} --domain ${domain} shows when it has`,
          );
      }
      return exitCode;
    });
  },
});
