import { Deployment, StopWorkloadResponse } from '@latchkey/proto';
import { booleanOption, parseArgs, requireOption, requirePositionals, stringOption } from '../args-parser.js';
import { call, withClients } from '../../client/client-context.js';
import type { CliIo } from '../../output/cli-io.js';
import type { Command } from '../command.js';
import { parseTimeoutSeconds, waitForEach } from './deploy-command.js';
import { deploymentLines, ENDED_STATUSES } from '../../output/deployment-format.js';
import { printJson } from '../../output/table-format.js';

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
      if (wait && !json) {
        for (const d of res.deployments.filter((d) => !ENDED_STATUSES.has(d.status)))
          io.out(`deployment ${d.id} ${d.status}; stopping...`);
      }
      // A deployment that could not be waited for is reported with why, beside the others.
      const outcomes = wait
        ? await waitForEach(ctx, domain, res.deployments, timeoutMs, (d) => ENDED_STATUSES.has(d.status))
        : res.deployments.map((deployment) => ({ deployment, error: undefined }));
      const unwaited = outcomes.filter((o) => o.error !== undefined).length;
      if (json) {
        printJson(io.out, {
          deployments: outcomes.map((o) => ({
            ...(Deployment.toJSON(o.deployment) as object),
            ...(o.error === undefined ? {} : { waitError: o.error }),
          })),
          alreadyStopped: false,
        });
        return unwaited > 0 ? 1 : 0;
      }
      for (const { deployment: d, error } of outcomes) {
        if (error !== undefined) io.out(`deployment ${d.id}: ${error}`);
        else if (ENDED_STATUSES.has(d.status)) for (const line of deploymentLines(d)) io.out(line);
        else
          io.out(
            `deployment ${d.id} ${d.status}: asked to stop; latchkey workload get ${name} --domain ${domain} shows when it has`,
          );
      }
      return unwaited > 0 ? 1 : 0;
    });
  },
};
