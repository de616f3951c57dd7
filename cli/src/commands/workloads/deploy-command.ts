import { LatchkeyError } from '@latchkey/errors';
import { Deployment, DeploymentPlan } from '@latchkey/proto';
import { booleanOption, parseArgs, requireOption, requirePositionals, stringOption } from '../args-parser.js';
import { CliError, UsageError } from '../../output/cli-errors.js';
import { call, withClients, type ClientContext } from '../../client/client-context.js';
import type { CliIo } from '../../output/cli-io.js';
import type { Command } from '../command.js';
import { deploymentLines, FINAL_STATUSES, isSuccess, planLines, progressKey } from '../../output/deployment-format.js';
import { printJson } from '../../output/table-format.js';

export const POLL_INTERVAL_MS = 200;

export function parseTimeoutSeconds(raw: string | undefined): number {
  if (raw === undefined) return 120;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new UsageError(`--timeout must be a positive number of seconds, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * Polls until the deployment reaches a final status (or what `done` says);
 * transport hiccups are retried until the deadline. `onProgress` hears each
 * change of status or reasons on the way (e.g. waiting for an unavailable
 * backend).
 */
export async function waitForDeployment(
  ctx: ClientContext,
  domain: string,
  first: Deployment,
  timeoutMs: number,
  opts: { onProgress?: (d: Deployment) => void; done?: (d: Deployment) => boolean } = {},
): Promise<Deployment> {
  const { onProgress = () => undefined, done = (d: Deployment) => FINAL_STATUSES.has(d.status) } = opts;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const deadline = Date.now() + timeoutMs;
  let current = first;
  let shown = progressKey(first);
  while (!done(current)) {
    if (Date.now() >= deadline) {
      throw new CliError(
        `deployment ${current.id} is still ${current.status} after ${Math.round(timeoutMs / 1000)}s: check it later with latchkey workload get ${current.workload} --domain ${domain}`,
        { code: 'cli.deploy_timeout' },
      );
    }
    await sleep(POLL_INTERVAL_MS);
    try {
      current = await call(ctx, 'deployer', ctx.deployer().getDeployment.bind(ctx.deployer()), {
        domain,
        id: current.id,
      });
    } catch (err) {
      if (!(err instanceof LatchkeyError && err.kind === 'unavailable')) throw err;
    }
    if (!done(current) && progressKey(current) !== shown) {
      shown = progressKey(current);
      onProgress(current);
    }
  }
  return current;
}

/**
 * Waits for each deployment (at once); one that cannot be waited for (timeout,
 * deployer gone) comes back as it was last seen, with why, beside the others.
 */
export function waitForEach(
  ctx: ClientContext,
  domain: string,
  deployments: readonly Deployment[],
  timeoutMs: number,
  done?: (d: Deployment) => boolean,
): Promise<{ deployment: Deployment; error?: string }[]> {
  return Promise.all(
    deployments.map((d) =>
      waitForDeployment(ctx, domain, d, timeoutMs, done ? { done } : {}).then(
        (deployment) => ({ deployment }),
        (err: unknown) => ({ deployment: d, error: err instanceof Error ? err.message : String(err) }),
      ),
    ),
  );
}

export const deployCommand: Command = {
  path: ['deploy'],
  usage: 'latchkey deploy NAME --domain DOMAIN [--wait] [--timeout SECONDS] [--dry-run] [--json]',
  summary: 'deploy a workload (its secrets are resolved at this moment); --dry-run only checks',
  options: {
    domain: { type: 'string' },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [name = ''] = requirePositionals(parsed, ['NAME']);
    const domain = requireOption(parsed, 'domain');
    const wait = booleanOption(parsed, 'wait');
    const timeoutMs = parseTimeoutSeconds(stringOption(parsed, 'timeout')) * 1000;
    const json = booleanOption(parsed, 'json');
    if (booleanOption(parsed, 'dry-run')) {
      if (wait) throw new UsageError('--dry-run deploys nothing, so there is nothing to --wait for: give one of them');
      return withClients(io, async (ctx) => {
        const plan = await call(ctx, 'deployer', ctx.deployer().dryRun.bind(ctx.deployer()), { domain, name });
        if (json) printJson(io.out, DeploymentPlan.toJSON(plan));
        else for (const line of planLines(plan)) io.out(line);
        if (plan.ok) return 0;
        io.err(`latchkey: a deployment of ${name} would fail now; nothing was deployed`);
        return 1;
      });
    }
    return withClients(io, async (ctx) => {
      const started = await call(ctx, 'deployer', ctx.deployer().deploy.bind(ctx.deployer()), { domain, name });
      if (!wait) {
        if (json) printJson(io.out, Deployment.toJSON(started));
        else io.out(`deployment ${started.id} ${started.status}`);
        return 0;
      }
      if (!json) io.out(`deployment ${started.id} ${started.status}; waiting...`);
      const outcome = await waitForDeployment(ctx, domain, started, timeoutMs, {
        onProgress: (d) => {
          if (!json) for (const line of deploymentLines(d)) io.out(line);
        },
      });
      if (json) printJson(io.out, Deployment.toJSON(outcome));
      else for (const line of deploymentLines(outcome)) io.out(line);
      if (isSuccess(outcome)) return 0;
      io.err(
        `latchkey: deployment ${outcome.id} of ${name} ${outcome.status}${outcome.status === 'exited' ? ` with exit code ${outcome.exitCode}` : ''}`,
      );
      return 1;
    });
  },
};
