// Creating a deployment's Pod and its values Secret on the kubernetes
// runtime: what is refused before any call (a namespace the API server would
// refuse, no image, values over a Secret's size), the calls tried again while
// the API is unavailable, and a refusal that says what to fix.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { LatchkeyError } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';
import type { RunSpec } from '../domain/ports.js';
import { apiError, apiStatus, isRetryable } from './kubernetes-api.js';
import {
  MAX_SECRET_BYTES,
  namespaceProblem,
  podManifest,
  secretDataBytes,
  valuesSecret,
} from './kubernetes-pod-manifest.js';

/** The runtime's options that creating a Pod uses. */
export interface PodCreateOptions {
  /** The container image when the workload names none. */
  defaultImage: string;
  /**
   * Pods of domain D go to namespace `<prefix><D>`. Default `latchkey-`. The
   * namespace is not created here: a platform admin creates it and binds the
   * deployer's role in it (deploy/kubernetes/deployer-runtime-rbac.yaml).
   */
  namespacePrefix?: string;
  /** The Pods' terminationGracePeriodSeconds; default: the cluster's (30 s). */
  terminationGraceSeconds?: number;
  /**
   * Creating the Pod and its Secret is tried this many times while the API
   * is unavailable (5xx, 429, no answer), with jittered doubling delays from
   * `retryDelayMs`. Defaults 4 and 250 ms.
   */
  createAttempts?: number;
  retryDelayMs?: number;
  logger: Logger;
}

/** Where the deployment's Pod goes: its namespace and name. */
export interface PodPlace {
  namespace: string;
  name: string;
}

/** Runs `call` again while it fails with a retryable API error, up to the configured attempts. */
async function retrying<T>(opts: PodCreateOptions, doing: string, call: (attempt: number) => Promise<T>): Promise<T> {
  const attempts = opts.createAttempts ?? 4;
  const base = opts.retryDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt);
    } catch (err) {
      const status = apiStatus(err);
      if (!isRetryable(status) || attempt >= attempts) throw err;
      const delay = base * 2 ** (attempt - 1) * (0.5 + Math.random());
      opts.logger.warn('the Kubernetes API is unavailable; trying again', { doing, attempt, status, delay });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** Creates the Pod, trying again while the API is unavailable; a refusal says what to fix. */
async function createPod(api: CoreV1Api, opts: PodCreateOptions, spec: RunSpec, body: V1Pod): Promise<V1Pod> {
  const { name, namespace } = body.metadata as { name: string; namespace: string };
  try {
    return await retrying(opts, `creating Pod ${name}`, async (attempt) => {
      try {
        return await api.createNamespacedPod({ namespace, body });
      } catch (err) {
        // An earlier attempt may have created it and lost the answer: ours if it is this deployment's.
        if (attempt > 1 && apiStatus(err) === 409) {
          // (A Pod gone again in between is reported as the conflict, not as a missing namespace.)
          const existing = await api.readNamespacedPod({ name, namespace }).catch(() => undefined);
          if (existing?.metadata?.labels?.['latchkey.dev/deployment'] === spec.deploymentId) return existing;
        }
        throw err;
      }
    });
  } catch (err) {
    const e = apiError(err, `creating Pod ${name} in namespace ${namespace}`);
    const status = apiStatus(err);
    if (status === 404)
      throw new LatchkeyError(e.code, `${e.message}: create namespace ${namespace} for domain ${spec.domain}`, {
        kind: 'failed_precondition',
      });
    if (status === 403)
      throw new LatchkeyError(
        e.code,
        `${e.message}: bind the deployer's role (deploy/kubernetes/deployer-runtime-rbac.yaml) in namespace ${namespace}`,
        { kind: 'permission_denied' },
      );
    throw e;
  }
}

/**
 * Creates the deployment's Pod at `place`, then (when it has values) its
 * values Secret owned by the Pod; a Pod whose Secret could not be created is
 * deleted again.
 */
export async function createDeploymentPod(
  api: CoreV1Api,
  opts: PodCreateOptions,
  spec: RunSpec,
  { namespace, name }: PodPlace,
): Promise<void> {
  const invalid = namespaceProblem(namespace);
  if (invalid)
    throw new LatchkeyError(
      'runtime.invalid_namespace',
      `domain ${spec.domain} cannot run workloads on the kubernetes runtime: its namespace ${namespace} ${invalid}, which a Kubernetes API server refuses. Domains created now have names of at most 54 characters that end with a letter or digit; move the workload to such a domain${opts.namespacePrefix && opts.namespacePrefix !== 'latchkey-' ? `, or shorten LATCHKEY_K8S_NAMESPACE_PREFIX (${opts.namespacePrefix})` : ''}`,
      { kind: 'failed_precondition' },
    );
  const image = spec.image ?? opts.defaultImage;
  if (!image)
    throw new LatchkeyError(
      'runtime.no_image',
      `workload ${spec.workload} names no run.image and the deployer has no default image: add run.image to the workload or set LATCHKEY_K8S_DEFAULT_IMAGE`,
      { kind: 'failed_precondition' },
    );
  const manifest = podManifest(spec, {
    name,
    namespace,
    image,
    ...(opts.terminationGraceSeconds === undefined ? {} : { terminationGraceSeconds: opts.terminationGraceSeconds }),
  });
  const { secretName } = manifest;
  const size = secretDataBytes(manifest);
  if (size > MAX_SECRET_BYTES)
    throw new LatchkeyError(
      'runtime.values_too_large',
      `workload ${spec.workload}: its resolved values, Spark conf and CA take ${size} bytes, over the ${MAX_SECRET_BYTES} bytes a Kubernetes Secret may hold: move large files out of secrets (or out of env and Spark conf)`,
      { kind: 'failed_precondition' },
    );
  const pod = await createPod(api, opts, spec, manifest.body);
  if (Object.keys(manifest.secretData).length === 0) return;
  try {
    // A 409 on a retry is most likely the lost answer of an earlier
    // attempt, but the deployer may not read Secrets to make sure: the
    // deployment fails instead, and the Secret goes with the Pod.
    await retrying(opts, `creating Secret ${manifest.secretName}`, () =>
      api.createNamespacedSecret({ namespace, body: valuesSecret(manifest, pod.metadata?.uid ?? '') }),
    );
  } catch (err) {
    // No Pod without its values: remove it (its Secret, if any, goes with it).
    await api.deleteNamespacedPod({ name, namespace }).catch(() => undefined);
    throw apiError(err, `creating Secret ${secretName} in namespace ${namespace}`);
  }
}
