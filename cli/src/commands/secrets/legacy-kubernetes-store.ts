/**
 * The V1 `kubernetes` store: one Opaque Secret, `iomete-secret-store` in the
 * data plane's namespace (seed 002), each data key a secret key and its
 * decoded bytes the value. One GET; @kubernetes/client-node is loaded only
 * here. ApiException's message carries response headers, so only its status
 * code is used.
 */
import { UsageError } from '../../output/cli-errors.js';
import { legacyStoreError, networkCode, type LegacyRead, type LegacyStore } from './legacy-store.js';

export const DEFAULT_SECRET_NAME = 'iomete-secret-store';
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const statusFailure = (code: number, namespace: string, name: string): string => {
  if (code === 404) return `there is no Secret ${name} in namespace ${namespace} (name another with --secret-name)`;
  if (code === 401) return 'the API server refused the kubeconfig credentials (401 Unauthorized)';
  if (code === 403) return `the kubeconfig's user may not get Secrets in namespace ${namespace} (403 Forbidden)`;
  return `the API server answered HTTP ${code}`;
};

export async function kubernetesStore(opts: {
  kubeconfig?: string;
  namespace?: string;
  secretName?: string;
}): Promise<LegacyStore> {
  const name = opts.secretName ?? DEFAULT_SECRET_NAME;
  if (!DNS_SUBDOMAIN.test(name)) throw new UsageError(`--secret-name must be a Secret's name (a DNS subdomain)`);
  const { CoreV1Api, KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const source = opts.kubeconfig === undefined ? 'the default kubeconfig' : `kubeconfig ${opts.kubeconfig}`;
  try {
    if (opts.kubeconfig === undefined) kc.loadFromDefault();
    else kc.loadFromFile(opts.kubeconfig);
  } catch (err) {
    throw legacyStoreError(
      { kind: 'kubernetes', label: source },
      // Not the parser's message: it may quote the file, which holds the credentials.
      `cannot load it (${networkCode(err) ?? 'not a kubeconfig file'})`,
    );
  }
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) {
    throw legacyStoreError({ kind: 'kubernetes', label: source }, 'its current context names no cluster');
  }
  const namespace = opts.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace;
  if (namespace === undefined || namespace === '') {
    throw new UsageError(`${source} names no namespace: give the data plane's with --namespace NS`);
  }
  if (!DNS_LABEL.test(namespace)) throw new UsageError('--namespace must be a namespace name (a DNS label)');
  const store = { kind: 'kubernetes', label: `Secret ${namespace}/${name} at ${server}` };
  return {
    ...store,
    async read(): Promise<LegacyRead> {
      const api = kc.makeApiClient(CoreV1Api);
      let data: Record<string, string>;
      try {
        data = (await api.readNamespacedSecret({ name, namespace })).data ?? {};
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        throw legacyStoreError(
          store,
          typeof code === 'number'
            ? statusFailure(code, namespace, name)
            : `no answer (${networkCode(err) ?? 'unreachable'})`,
        );
      }
      return {
        entries: Object.entries(data).map(([key, b64]) => ({ key, value: Buffer.from(b64, 'base64') })),
        skipped: [],
      };
    },
  };
}
