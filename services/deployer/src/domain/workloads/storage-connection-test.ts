import { randomUUID } from 'node:crypto';
import { authorize, type Authorizer } from '@latchkey/authz';
import { open, type SealKeyPair } from '@latchkey/crypto';
import { auditRecord, checkDomainName, connectionTestBinding, type PlannedReference } from '@latchkey/events';
import type { Logger } from '@latchkey/logger';
import { askPlanner } from '../deployments/ask-planner.js';
import type { ResolutionPlanner, WorkloadRepo } from '../ports.js';
import { referencesOf, renderValues, specWarnings, type WorkloadSpec } from '../workload-spec.js';
import { assertSecretsVersion, findWorkload } from './workload-definitions.js';
import { storageConfigIncomplete, workloadNotTestable, workloadTestUnavailable } from './workload-errors.js';
import {
  probeReason,
  STORAGE_TEST_CODES,
  withoutSecrets,
  type StorageProbe,
  type StorageProbeOutcome,
  type StorageTarget,
} from './storage-probe.js';

export const DEFAULT_REGION = 'us-east-1';

/** What `latchkey workload test` answers. Never a value: codes, reasons, names, scopes and versions. */
export interface ConnectionTestResult {
  domain: string;
  workload: string;
  ok: boolean;
  code: string;
  message: string;
  /** The endpoint as written in the spec ('' for AWS's own), the region and the bucket tried. */
  endpoint: string;
  region: string;
  bucket: string;
  references: PlannedReference[];
  warnings: string[];
  httpStatus: number;
}

export interface ConnectionTestDeps {
  repo: Pick<WorkloadRepo, 'getWorkload' | 'recordAudit'>;
  authorizer: Authorizer;
  planner?: ResolutionPlanner;
  storageProbe?: StorageProbe;
  sealKeys: ReadonlyMap<string, SealKeyPair>;
  logger: Logger;
  secretsV2?: boolean;
  dryRunTimeoutMs?: number;
  /** How long the one S3 request may take; default 10 s. */
  storageTestTimeoutMs?: number;
}

/** What a STORAGE_CONFIG lacks for a connection test, as JSON paths with what to put there. */
function missingFields(spec: WorkloadSpec): string[] {
  const missing: string[] = [];
  if (spec.bucket === undefined) missing.push('$.bucket (the bucket to list, e.g. "lake-raw")');
  if (spec.accessKey === undefined) missing.push('$.accessKey (the access key id: a reference or "${secrets.KEY}")');
  if (spec.storageSecret === undefined && spec.secretKey === undefined) {
    missing.push('$.storageSecret (the secret key: a reference {"key": ..., "source": {...}})');
  }
  return missing;
}

/** The spec's endpoint, rendered, as an http(s) URL; a string saying what is wrong otherwise. */
function endpointUrl(rendered: string | undefined): URL | undefined | string {
  if (rendered === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(rendered);
  } catch {
    return 'the endpoint is not a URL: write $.endpoint as http(s)://HOST[:PORT], e.g. "https://minio.internal:9000"';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `the endpoint's scheme is ${url.protocol.replace(':', '')}: $.endpoint must be an http or https URL`;
  }
  if (url.username !== '' || url.password !== '') {
    return 'the endpoint holds a user name or password: remove it from $.endpoint (the keys sign the request)';
  }
  return url;
}

/** The endpoint as the answer shows it: without a user name or password written in it (refused, never echoed). */
function shownEndpoint(written: string): string {
  try {
    const url = new URL(written);
    if (url.username === '' && url.password === '') return written;
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return written;
  }
}

/**
 * A STORAGE_CONFIG's connection test (`latchkey workload test NAME`): its
 * credentials resolved by the resolver exactly as a deployment's (one
 * batched ras check as the caller, one read, an audit record "connection
 * test" before any value leaves), then one request signed with them
 * (SigV4, ListObjectsV2 of at most one key) to its endpoint, the outcome
 * classified. Nothing is started, deployed or published; the values are
 * only in memory for that request, then zeroed.
 */
export class StorageConnectionTests {
  constructor(private readonly deps: ConnectionTestDeps) {}

  async test(
    principal: string,
    domain: string,
    name: string,
    groups: readonly string[] = [],
  ): Promise<ConnectionTestResult> {
    checkDomainName(domain);
    // Resolving the credentials is what a deployment does: the same permission.
    await authorize(this.deps.authorizer, { principal, action: 'workload.deploy', domain, resource: name });
    const workload = await findWorkload(this.deps.repo, domain, name);
    const spec = workload.spec;
    if (spec.kind !== 'STORAGE_CONFIG') throw workloadNotTestable(domain, name, spec.kind);
    assertSecretsVersion(this.deps.secretsV2, name, spec, 'connection test');
    const missing = missingFields(spec);
    if (missing.length > 0) throw storageConfigIncomplete(name, missing);
    if (!this.deps.storageProbe) throw workloadTestUnavailable();
    const base = {
      domain,
      workload: name,
      endpoint: spec.endpoint === undefined ? '' : shownEndpoint(spec.endpoint),
      region: spec.region ?? DEFAULT_REGION,
      bucket: spec.bucket ?? '',
      warnings: specWarnings(spec),
    };
    const references = referencesOf(spec, domain);
    const requestId = randomUUID();
    let values = new Map<string, string>();
    let planned: PlannedReference[] = [];
    if (references.length > 0) {
      const reply = await askPlanner(
        this.deps.planner,
        {
          mode: 'connection_test',
          domain,
          workload: name,
          principal,
          ...(groups.length > 0 ? { groups: [...groups] } : {}),
          references,
          requestId,
        },
        this.deps.dryRunTimeoutMs,
      );
      planned = reply.references;
      base.warnings.push(...reply.warnings);
      const failed = planned.filter((r) => !r.ok);
      if (failed.length > 0 || !reply.sealed) {
        const reasons = failed.map((r) => `${r.key}: ${r.message} [${r.code}]`).join('; ');
        return this.#done(principal, groups, {
          ...base,
          references: planned,
          ok: false,
          code: STORAGE_TEST_CODES.credentialsUnresolved,
          message: `the credentials did not resolve, so no request was made: ${reasons || 'the resolver sent no values'}`,
          httpStatus: 0,
        });
      }
      const plain = open(this.deps.sealKeys, reply.sealed, connectionTestBinding(requestId));
      try {
        values = new Map(Object.entries(JSON.parse(plain.toString('utf8')) as Record<string, string>));
      } finally {
        plain.fill(0);
      }
    }
    try {
      return await this.#probe(principal, groups, spec, values, { ...base, references: planned });
    } finally {
      values.clear();
    }
  }

  async #probe(
    principal: string,
    groups: readonly string[],
    spec: WorkloadSpec,
    values: ReadonlyMap<string, string>,
    base: Omit<ConnectionTestResult, 'ok' | 'code' | 'message' | 'httpStatus'>,
  ): Promise<ConnectionTestResult> {
    const rendered = renderValues(
      {
        ...(spec.endpoint !== undefined ? { endpoint: spec.endpoint } : {}),
        accessKeyId: spec.accessKey ?? '',
        // The reference wins; the legacy literal is only the fallback (as injected).
        secretAccessKey: spec.storageSecret ?? spec.secretKey ?? '',
      },
      values,
    );
    const endpoint = endpointUrl(rendered.endpoint);
    if (typeof endpoint === 'string') {
      return this.#done(principal, groups, {
        ...base,
        ok: false,
        code: STORAGE_TEST_CODES.invalidEndpoint,
        message: endpoint,
        httpStatus: 0,
      });
    }
    const target: StorageTarget = {
      ...(endpoint ? { endpoint } : {}),
      region: base.region,
      bucket: base.bucket,
      pathStyle: spec.pathStyle ?? false,
      accessKeyId: rendered.accessKeyId ?? '',
      secretAccessKey: rendered.secretAccessKey ?? '',
    };
    const timeoutMs = this.deps.storageTestTimeoutMs ?? 10_000;
    const outcome: StorageProbeOutcome = await this.deps.storageProbe!.probe(target, timeoutMs);
    if (outcome.ok) {
      return this.#done(principal, groups, {
        ...base,
        ok: true,
        code: '',
        message: `the endpoint accepted a request signed with these credentials: bucket ${base.bucket} can be listed`,
        httpStatus: outcome.status,
      });
    }
    // An endpoint rendered from a value: its host is that value's, not to be quoted back.
    const endpointHost = endpoint && rendered.endpoint !== spec.endpoint ? [endpoint.host, endpoint.hostname] : [];
    const secrets = [target.accessKeyId, target.secretAccessKey, ...values.values(), ...endpointHost];
    return this.#done(principal, groups, {
      ...base,
      ok: false,
      code: STORAGE_TEST_CODES[outcome.failure],
      message: probeReason(withoutSecrets(outcome, secrets), target, timeoutMs),
      httpStatus: outcome.status,
    });
  }

  /** Records the test's outcome (its code, never a value) as the caller's, then answers it. */
  async #done(principal: string, groups: readonly string[], r: ConnectionTestResult): Promise<ConnectionTestResult> {
    try {
      await this.deps.repo.recordAudit(
        auditRecord({
          service: 'deployer',
          actor: principal,
          groups,
          action: 'workload.test',
          domain: r.domain,
          resource: `workload:${r.workload}`,
          outcome: r.ok ? 'ok' : 'error',
          reason: r.ok ? `connection test of bucket ${r.bucket}: ok` : `connection test: ${r.code}`,
        }),
      );
    } catch (err) {
      this.deps.logger.warn('audit record of a connection test not written', { workload: r.workload, err });
    }
    return r;
  }
}
