import { RedeployResult } from '@latchkey/proto';
import { invoke, withClients } from '../../client/client-context.js';
import { UsageError } from '../../output/cli-errors.js';
import { deploymentLines, isSuccess } from '../../output/deployment-format.js';
import { printJson } from '../../output/table-format.js';
import { booleanOption, requireOption } from '../args-parser.js';
import { defineCommand } from '../command.js';
import { timeoutMsOption, WAIT_OPTIONS, waitForEach } from './deployment-wait.js';

export const redeployCommand = defineCommand({
  path: ['redeploy'],
  usage: 'latchkey redeploy (NAME | --stale) --domain DOMAIN [--wait] [--timeout SECONDS] [--json]',
  summary: 'deploy a workload again, or every stale workload of a domain, so it gets the current secret versions',
  options: { ...WAIT_OPTIONS, stale: { type: 'boolean' }, wait: { type: 'boolean' } },
  positionals: 'any',
  async run({ parsed, json }, io) {
    const stale = booleanOption(parsed, 'stale');
    if (parsed.positionals.length > 1)
      throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[1])}`);
    const name = parsed.positionals[0] ?? '';
    if (name !== '' && stale) throw new UsageError('give either a workload NAME or --stale, not both');
    if (name === '' && !stale) throw new UsageError('missing NAME (or --stale to redeploy every stale workload)');
    const domain = requireOption(parsed, 'domain');
    const wait = booleanOption(parsed, 'wait');
    const timeoutMs = timeoutMsOption(parsed);
    return withClients(io, async (ctx) => {
      const res = await invoke(ctx, 'deployer', (deployer) => deployer.redeploy, { domain, name, stale });
      let failed = res.results.filter((r) => r.deployment === undefined).length;
      // A deployment that could not be waited for (timeout, deployer gone) is
      // reported with why, beside the others, which are still shown.
      const unwaited = new Map<(typeof res.results)[number], string>();
      if (wait) {
        const started = res.results.filter((r) => r.deployment !== undefined);
        const outcomes = await waitForEach(
          ctx,
          domain,
          started.map((r) => r.deployment!),
          timeoutMs,
        );
        started.forEach((r, i) => {
          const o = outcomes[i]!;
          r.deployment = o.deployment;
          if (o.error !== undefined) unwaited.set(r, o.error);
        });
        failed += started.filter((r) => unwaited.has(r) || !isSuccess(r.deployment!)).length;
      }
      if (json) {
        printJson(io.out, {
          results: res.results.map((r) => ({
            ...(RedeployResult.toJSON(r) as object),
            ...(unwaited.has(r) ? { waitError: unwaited.get(r) } : {}),
          })),
        });
      } else {
        if (res.results.length === 0) io.out(`no stale workloads in domain ${domain}: nothing to redeploy`);
        for (const r of res.results) {
          if (!r.deployment) {
            io.out(`${r.workload}: not redeployed: ${r.message} (${r.code})`);
            continue;
          }
          const why = unwaited.get(r);
          if (why !== undefined) {
            io.out(`${r.workload}: ${why}`);
            continue;
          }
          const [first = '', ...rest] = wait
            ? deploymentLines(r.deployment)
            : [`deployment ${r.deployment.id} ${r.deployment.status}`];
          io.out(`${r.workload}: ${first}`);
          for (const line of rest) io.out(line);
        }
      }
      if (failed === 0) return 0;
      io.err(
        `latchkey: ${failed} of ${res.results.length} workload(s) were not redeployed${wait ? ' successfully' : ''}`,
      );
      return 1;
    });
  },
});
