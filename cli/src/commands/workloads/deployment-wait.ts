import { LatchkeyError } from '@latchkey/errors';
import { Deployment } from '@latchkey/proto';
import { invoke, type ClientContext } from '../../client/client-context.js';
import { CliError, UsageError } from '../../output/cli-errors.js';
import { FINAL_STATUSES, progressKey } from '../../output/deployment-format.js';
import { stringOption, type ParsedArgs } from '../args-parser.js';

export const POLL_INTERVAL_MS = 200;

/** The options of a verb that waits for deployments. */
export const WAIT_OPTIONS = {
  domain: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** --timeout in milliseconds (default 120 s). */
export function timeoutMsOption(parsed: ParsedArgs): number {
  return parseTimeoutSeconds(stringOption(parsed, 'timeout')) * 1000;
}

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
      current = await invoke(ctx, 'deployer', (deployer) => deployer.getDeployment, { domain, id: current.id });
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

/** A deployment as JSON, with why it could not be waited for when it could not. */
export function deploymentJson(d: Deployment, waitError: string | undefined): object {
  return { ...(Deployment.toJSON(d) as object), ...(waitError === undefined ? {} : { waitError }) };
}
