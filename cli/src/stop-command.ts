import { StopWorkloadResponse, type Deployment } from '@latchkey/proto';
import { booleanOption, parseArgs, requireOption, requirePositionals, stringOption } from './args-parser.js';
import { call, withClients } from './client-context.js';
import type { CliIo } from './cli-io.js';
import type { Command } from './command-types.js';
import { parseTimeoutSeconds, waitForDeployment } from './deploy-command.js';
import { deploymentLines, ENDED_STATUSES } from './deployment-format.js';
import { printJson } from './table-format.js';

export const stopCommand: Command = {
  path: ['stop'],
  usage: 'latchkey stop NAME --domain DOMAIN [--no-wait] [--timeout SECONDS] [--json]',
  summary: 'stop a workload wherever it runs (waits until it has stopped unless --no-wait)',
  options: {
    domain: { type: 'string' },
    'no-wait': { type: 'boolean' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [name = ''] = requirePositionals(parsed, ['NAME']);
    const domain = requireOption(parsed, 'domain');
    const wait = !booleanOption(parsed, 'no-wait');
    const timeoutMs = parseTimeoutSeconds(stringOption(parsed, 'timeout')) * 1000;
    const json = booleanOption(parsed, 'json');
    return withClients(io, async (ctx) => {
      const res = await call(ctx, 'deployer', ctx.deployer().stopWorkload.bind(ctx.deployer()), { domain, name });
      if (res.alreadyStopped) {
        if (json) printJson(io.out, StopWorkloadResponse.toJSON(res));
        else io.out(`workload ${name} is already stopped (deployment ${res.deployments[0]?.id ?? '-'})`);
        return 0;
      }
      let deployments: Deployment[] = res.deployments;
      if (wait) {
        if (!json) {
          for (const d of deployments.filter((d) => !ENDED_STATUSES.has(d.status)))
            io.out(`deployment ${d.id} ${d.status}; stopping...`);
        }
        const ended = (d: Deployment) => ENDED_STATUSES.has(d.status);
        deployments = await Promise.all(
          deployments.map((d) => waitForDeployment(ctx, domain, d, timeoutMs, undefined, undefined, ended)),
        );
      }
      if (json) {
        printJson(io.out, StopWorkloadResponse.toJSON({ deployments, alreadyStopped: false }));
        return 0;
      }
      for (const d of deployments) {
        if (ENDED_STATUSES.has(d.status)) for (const line of deploymentLines(d)) io.out(line);
        else
          io.out(
            `deployment ${d.id} ${d.status}: asked to stop; latchkey workload get ${name} --domain ${domain} shows when it has`,
          );
      }
      return 0;
    });
  },
};
