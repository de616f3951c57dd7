import { Deployment, DeploymentPlan } from '@latchkey/proto';
import { withClients, invoke } from '../../client/client-context.js';
import { UsageError } from '../../output/cli-errors.js';
import { deploymentLines, isSuccess, planLines } from '../../output/deployment-format.js';
import { printJson, printLines } from '../../output/table-format.js';
import { booleanOption, requireOption } from '../args-parser.js';
import { defineCommand } from '../command.js';
import { timeoutMsOption, WAIT_OPTIONS, waitForDeployment } from './deployment-wait.js';

export const deployCommand = defineCommand({
  path: ['deploy'],
  usage: 'latchkey deploy NAME --domain DOMAIN [--wait] [--timeout SECONDS] [--dry-run] [--json]',
  summary: 'deploy a workload (its secrets are resolved at this moment); --dry-run only checks',
  options: { ...WAIT_OPTIONS, wait: { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
  positionals: ['NAME'],
  async run({ parsed, positionals: [name = ''], json }, io) {
    const domain = requireOption(parsed, 'domain');
    const wait = booleanOption(parsed, 'wait');
    const timeoutMs = timeoutMsOption(parsed);
    if (booleanOption(parsed, 'dry-run')) {
      if (wait) throw new UsageError('--dry-run deploys nothing, so there is nothing to --wait for: give one of them');
      return withClients(io, async (ctx) => {
        const plan = await invoke(ctx, 'deployer', (deployer) => deployer.dryRun, { domain, name });
        if (json) printJson(io.out, DeploymentPlan.toJSON(plan));
        else printLines(io.out, planLines(plan));
        if (plan.ok) return 0;
        io.err(`latchkey: a deployment of ${name} would fail now; nothing was deployed`);
        return 1;
      });
    }
    return withClients(io, async (ctx) => {
      const started = await invoke(ctx, 'deployer', (deployer) => deployer.deploy, { domain, name });
      if (!wait) {
        if (json) printJson(io.out, Deployment.toJSON(started));
        else io.out(`deployment ${started.id} ${started.status}`);
        return 0;
      }
      if (!json) io.out(`deployment ${started.id} ${started.status}; waiting...`);
      const outcome = await waitForDeployment(ctx, domain, started, timeoutMs, {
        onProgress: (d) => {
          if (!json) printLines(io.out, deploymentLines(d));
        },
      });
      if (json) printJson(io.out, Deployment.toJSON(outcome));
      else printLines(io.out, deploymentLines(outcome));
      if (isSuccess(outcome)) return 0;
      io.err(
        `latchkey: deployment ${outcome.id} of ${name} ${outcome.status}${outcome.status === 'exited' ? ` with exit code ${outcome.exitCode}` : ''}`,
      );
      return 1;
    });
  },
});
