import { invalidArgument, LatchkeyError, notFound } from '@latchkey/errors';

/** The deployment errors' codes (and the codes of a redeploy's per-workload results), each listed once. */
export const DEPLOYMENT_ERRORS = {
  notFound: 'deployment.not_found',
  redeployInvalidTarget: 'redeploy.invalid_target',
  redeployInFlight: 'redeploy.in_flight',
  redeployNotStale: 'redeploy.not_stale',
  resolverUnavailable: 'resolver.unavailable',
  busRejected: 'bus.rejected',
  cryptoError: 'crypto.error',
} as const;

export function deploymentNotFoundInDomain(id: string, domain: string): LatchkeyError {
  return notFound(DEPLOYMENT_ERRORS.notFound, `deployment ${id.slice(0, 40)} not found in domain ${domain}`);
}

/** A deployment asked for by id that is not one of the workload's, or (no id) a workload never deployed. */
export function deploymentNotFoundFor(workload: string, id: string): LatchkeyError {
  return notFound(
    DEPLOYMENT_ERRORS.notFound,
    id ? `deployment ${id.slice(0, 40)} not found for ${workload}` : `workload ${workload} has not been deployed`,
  );
}

export function redeployInvalidTarget(both: boolean): LatchkeyError {
  return invalidArgument(
    DEPLOYMENT_ERRORS.redeployInvalidTarget,
    both
      ? 'give either a workload NAME or --stale, not both'
      : 'give the workload NAME to redeploy, or --stale for every stale one',
  );
}

export function resolverUnavailable(): LatchkeyError {
  return new LatchkeyError(
    DEPLOYMENT_ERRORS.resolverUnavailable,
    'this deployer has no resolver to ask: nothing was checked',
    { kind: 'unavailable' },
  );
}

/** The resolver could not do a dry run: its code, with what it said. */
export function dryRunFailed(code: string, message: string): LatchkeyError {
  return new LatchkeyError(code, `the dry run could not be done: ${message}`);
}

/** A bus message that does not answer the deployment it names (permanent: the message is terminated). */
export function busRejected(what: string, eventId: string, problem: string): LatchkeyError {
  return invalidArgument(DEPLOYMENT_ERRORS.busRejected, `${what} ${eventId.slice(0, 80)} refused: ${problem}`);
}
