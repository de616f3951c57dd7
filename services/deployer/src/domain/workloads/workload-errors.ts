import { invalidArgument, LatchkeyError, notFound } from '@latchkey/errors';
import type { DeploymentRecord } from '../deployment-types.js';

/** The workload errors' codes, each listed once. */
export const WORKLOAD_ERRORS = {
  invalidName: 'workload.invalid_name',
  notFound: 'workload.not_found',
  noCommand: 'workload.no_command',
  notRunning: 'workload.not_running',
  running: 'workload.running',
  invalid: 'workload.invalid',
  malformedJson: 'workload.malformed_json',
  tooLarge: 'workload.too_large',
  tooManyReferences: 'workload.too_many_references',
  secretsV2Disabled: 'workload.secrets_v2_disabled',
  notTestable: 'workload.not_testable',
  storageIncomplete: 'workload.storage_incomplete',
  testUnavailable: 'workload.test_unavailable',
} as const;

export function invalidWorkloadName(name: string): LatchkeyError {
  return invalidArgument(WORKLOAD_ERRORS.invalidName, `invalid workload name ${JSON.stringify(name.slice(0, 80))}`);
}

export function workloadNotFound(domain: string, name: string): LatchkeyError {
  return notFound(WORKLOAD_ERRORS.notFound, `workload ${name} not found in domain ${domain}: apply it first`);
}

/** Why a workload without run.command cannot be started (`problem`: see notStartable). */
export function workloadNoCommand(problem: string): LatchkeyError {
  return new LatchkeyError(WORKLOAD_ERRORS.noCommand, problem, { kind: 'failed_precondition' });
}

/** `latchkey stop` of a workload with nothing running: what its last deployment did, if any. */
export function workloadNotRunning(domain: string, name: string, last: DeploymentRecord | undefined): LatchkeyError {
  const ended = (d: DeploymentRecord) =>
    d.status === 'exited' ? `exited${d.exitCode === null ? '' : ` with code ${d.exitCode}`}` : d.status;
  return new LatchkeyError(
    WORKLOAD_ERRORS.notRunning,
    last
      ? `workload ${name} has nothing to stop: its last deployment ${last.id} ${ended(last)}; deploy it with latchkey deploy ${name} --domain ${domain}`
      : `workload ${name} has nothing to stop: it was never deployed`,
    { kind: 'failed_precondition' },
  );
}

export function workloadTooLarge(bytes: number, limits: { specBytes: number; references: number; valueChars: number }) {
  return invalidArgument(
    WORKLOAD_ERRORS.tooLarge,
    `the workload is ${bytes} bytes; at most ${limits.specBytes} bytes are allowed (and at most ${limits.references} distinct secret references, values of at most ${limits.valueChars} characters): split it into several workloads, or keep large content in the catalog or object storage`,
    { bytes, limit: limits.specBytes },
  );
}

export function workloadMalformedJson(err: unknown): LatchkeyError {
  return invalidArgument(WORKLOAD_ERRORS.malformedJson, `the workload is not valid JSON: ${(err as Error).message}`);
}

/** The most problems one refusal lists (a document with thousands of bad fields gets a message that still reads). */
export const LISTED_PROBLEMS = 20;

/** A workload document with problems, each with its JSON path (the first LISTED_PROBLEMS of them). */
export function workloadInvalid(problems: readonly string[]): LatchkeyError {
  const more = problems.length - LISTED_PROBLEMS;
  return invalidArgument(
    WORKLOAD_ERRORS.invalid,
    `the workload has ${problems.length} problem(s): ${problems.slice(0, LISTED_PROBLEMS).join('; ')}${more > 0 ? `; and ${more} more (fix these and apply again to see the rest)` : ''}`,
  );
}

export function workloadNotAnObject(): LatchkeyError {
  return invalidArgument(WORKLOAD_ERRORS.invalid, '$: a workload is a JSON object');
}

export function workloadTooManyReferences(references: number, limit: number): LatchkeyError {
  return invalidArgument(
    WORKLOAD_ERRORS.tooManyReferences,
    `the workload has ${references} distinct secret references; at most ${limit} are allowed per workload (each deployment carries all of them on the bus): split it into several workloads, or reference one secret that holds several settings`,
    { references, limit },
  );
}

/** A delete of a workload one of whose deployments is on its way or running: stop it first. */
export function workloadRunning(domain: string, name: string, active: DeploymentRecord): LatchkeyError {
  const what = active.status === 'resolving' ? 'is on its way' : active.status === 'starting' ? 'is starting' : 'runs';
  return new LatchkeyError(
    WORKLOAD_ERRORS.running,
    `workload ${name} cannot be deleted while its deployment ${active.id} ${what}${active.stopRequestedAt ? ' (a stop was asked for: try again once it has stopped)' : ''}: stop it first with latchkey stop ${name} --domain ${domain} (POST /api/v1/domains/${domain}/workloads/${name}/stop), then delete it`,
    { kind: 'failed_precondition' },
  );
}

/**
 * A workload with a structured reference where Secrets V2 is off (the
 * legacy mode): `path` is the JSON path of the first one; `doing` what was
 * refused (apply, deploy, dry run, redeploy).
 */
export function workloadSecretsV2Disabled(name: string, path: string, doing: string): LatchkeyError {
  return new LatchkeyError(
    WORKLOAD_ERRORS.secretsV2Disabled,
    `${doing} of workload ${name} refused: ${path} is a structured secret reference {"key": ..., "source": {...}}, and Secrets V2 is off on this installation, where only "\${secrets.KEY}" placeholders work (read from global scope). Turn Secrets V2 on (features.secretsV2.enabled: true in the Helm values; LATCHKEY_SECRETS_V2=true on the deployer and the resolver), or write the value as "\${secrets.KEY}" with the key in global scope`,
    { kind: 'failed_precondition', details: { path } },
  );
}

/** `workload test` of a workload that is not a STORAGE_CONFIG: what checks it instead. */
export function workloadNotTestable(domain: string, name: string, kind: string): LatchkeyError {
  return new LatchkeyError(
    WORKLOAD_ERRORS.notTestable,
    `workload ${name} is a ${kind}: only a STORAGE_CONFIG has a connection to test; check a ${kind}'s references with latchkey deploy ${name} --domain ${domain} --dry-run`,
    { kind: 'failed_precondition' },
  );
}

/** A STORAGE_CONFIG without what an S3 request needs (`missing`: JSON paths with what to put there). */
export function storageConfigIncomplete(name: string, missing: readonly string[]): LatchkeyError {
  return new LatchkeyError(
    WORKLOAD_ERRORS.storageIncomplete,
    `storage config ${name} cannot be tested: it has no ${missing.join(', no ')}; add them and apply it again`,
    { kind: 'failed_precondition', details: { missing: missing.map((m) => m.split(' ')[0]).join(', ') } },
  );
}

/** A deployer built without an S3 client (a test's): connection tests are not available on it. */
export function workloadTestUnavailable(): LatchkeyError {
  return new LatchkeyError(
    WORKLOAD_ERRORS.testUnavailable,
    'this deployer has no storage client configured: connection tests are not available on it',
    { kind: 'unavailable' },
  );
}
