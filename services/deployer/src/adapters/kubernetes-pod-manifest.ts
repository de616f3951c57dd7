// The Pod and values Secret of a deployment on the kubernetes runtime, built
// without the API (pure functions, unit-tested apart from the runtime).
import type { V1EnvVar, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { RunSpec } from '../domain/ports.js';
import { propertiesLine } from './process-runtime.js';

export const MOUNT = '/var/run/latchkey';
export const CONTAINER = 'workload';
export const PROPERTIES_KEY = 'spark.properties';
/** The CA the workload trusts the gateway with (LATCHKEY_CA_FILE), beside spark.properties. */
export const API_CA_KEY = 'latchkey-ca.pem';

/** A DNS-1123 label from free text: lowercase, `[a-z0-9-]`, at most `max` characters. */
export function dnsLabel(s: string, max: number): string {
  const cleaned = s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleaned.slice(0, max).replace(/-+$/, '') || 'x';
}

/** The namespace of a domain's Pods: `<prefix><domain>` (default prefix `latchkey-`). */
export function domainNamespace(prefix: string, domain: string): string {
  return `${prefix}${domain}`;
}

/** What a namespace name must be: a DNS label (RFC 1123) of at most 63 characters. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Why a real API server would refuse `namespace` as a namespace name (422),
 * if it would: too long, or not a DNS label. Domains created now always fit
 * the default prefix (NEW_DOMAIN_NAME, at most 54 characters); a domain
 * created under the looser rule before, or a longer prefix, may not.
 */
export function namespaceProblem(namespace: string): string | undefined {
  if (namespace.length > 63) return `is ${namespace.length} characters long; a namespace name has at most 63`;
  if (!NAMESPACE_NAME.test(namespace)) {
    return "is not a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit)";
  }
  return undefined;
}

/** A workload's Pod, its values Secret's name and data, and their labels: what `start` creates. */
export interface PodManifest {
  body: V1Pod;
  secretName: string;
  /** Base64 values for the Secret (empty: no Secret). */
  secretData: Record<string, string>;
  labels: Record<string, string>;
}

/**
 * The Pod of a deployment (pure): env vars that hold a resolved value come
 * from the values Secret (`secretKeyRef`), literals stay plain `value`s;
 * Spark conf is the Secret's spark.properties, mounted read-only.
 */
export function podManifest(
  spec: RunSpec,
  at: { name: string; namespace: string; image: string; terminationGraceSeconds?: number },
): PodManifest {
  const { name, namespace, image } = at;
  const secretName = `${name}-values`;
  const { env, secretData } = podEnv(spec, secretName);
  const files = [PROPERTIES_KEY, API_CA_KEY].filter((k) => k in secretData);
  const labels = {
    'app.kubernetes.io/managed-by': 'latchkey',
    'latchkey.dev/deployment': spec.deploymentId,
    'latchkey.dev/workload': dnsLabel(spec.workload, 63),
    // A valid label value as it is: start() runs only domains whose namespace is a DNS label.
    'latchkey.dev/domain': spec.domain,
  };
  const body: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: {
      restartPolicy: 'Never',
      ...(at.terminationGraceSeconds === undefined
        ? {}
        : { terminationGracePeriodSeconds: at.terminationGraceSeconds }),
      containers: [
        {
          name: CONTAINER,
          image,
          command: spec.command,
          env,
          ...(spec.resources ? { resources: spec.resources } : {}),
          ...(files.length > 0
            ? { volumeMounts: [{ name: 'latchkey-values', mountPath: MOUNT, readOnly: true }] }
            : {}),
        },
      ],
      ...(files.length > 0
        ? {
            volumes: [
              {
                name: 'latchkey-values',
                secret: { secretName, items: files.map((k) => ({ key: k, path: k })), defaultMode: 0o400 },
              },
            ],
          }
        : {}),
    },
  };
  return { body, secretName, secretData, labels };
}

/** The container's environment, and the Secret data its values (and the Spark conf) come from. */
function podEnv(spec: RunSpec, secretName: string): { env: V1EnvVar[]; secretData: Record<string, string> } {
  const holdsValue = (v: string) => spec.secrets.some((s) => s.length > 0 && v.includes(s));
  const secretData: Record<string, string> = {};
  const env: V1EnvVar[] = [
    { name: 'LATCHKEY_DEPLOYMENT_ID', value: spec.deploymentId },
    { name: 'LATCHKEY_WORKLOAD', value: spec.workload },
    { name: 'LATCHKEY_DOMAIN', value: spec.domain },
  ];
  for (const [k, v] of Object.entries(spec.env)) {
    if (holdsValue(v)) {
      secretData[k] = Buffer.from(v, 'utf8').toString('base64');
      env.push({ name: k, valueFrom: { secretKeyRef: { name: secretName, key: k } } });
    } else {
      env.push({ name: k, value: v });
    }
  }
  const confKeys = Object.keys(spec.sparkConf);
  if (confKeys.length > 0) {
    const body = confKeys.map((k) => propertiesLine(k, spec.sparkConf[k] ?? '')).join('\n') + '\n';
    secretData[PROPERTIES_KEY] = Buffer.from(body, 'utf8').toString('base64');
    env.push({ name: 'LATCHKEY_SPARK_PROPERTIES_FILE', value: `${MOUNT}/${PROPERTIES_KEY}` });
  }
  if (spec.apiCaPem) {
    secretData[API_CA_KEY] = Buffer.from(spec.apiCaPem, 'utf8').toString('base64');
    env.push({ name: 'LATCHKEY_CA_FILE', value: `${MOUNT}/${API_CA_KEY}` });
  }
  return { env, secretData };
}

/** The largest decoded sum of a Secret's data that the Kubernetes API server accepts (1 MiB). */
export const MAX_SECRET_BYTES = 1_048_576;

/** The decoded size of the values Secret's data. */
export function secretDataBytes(m: PodManifest): number {
  return Object.values(m.secretData).reduce((n, v) => n + Buffer.from(v, 'base64').length, 0);
}

/** The values Secret of a Pod, owned by it (garbage-collected with it). */
export function valuesSecret(m: PodManifest, podUid: string): V1Secret {
  const { name, namespace } = m.body.metadata as { name: string; namespace: string };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: m.secretName,
      namespace,
      labels: m.labels,
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          name,
          uid: podUid,
          controller: true,
          // No blockOwnerDeletion: it would need update on pods/finalizers
          // (OwnerReferencesPermissionEnforcement), and nothing waits on it.
        },
      ],
    },
    data: m.secretData,
  };
}
