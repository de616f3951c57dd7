// The Kubernetes API as the kubernetes runtime meets it: the kubeconfig, and
// its failures as Latchkey errors (the status and what was being done, never a body).
import { KubeConfig } from '@kubernetes/client-node';
import { LatchkeyError } from '@latchkey/errors';

/** A kubeconfig file when given; else the in-cluster service account, else ~/.kube/config. */
export function loadKubeConfig(file: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster())
    throw new LatchkeyError(
      'config.invalid',
      `LATCHKEY_RUNTIME=kubernetes found no cluster in ${file ?? 'the default kubeconfig'}: set LATCHKEY_KUBECONFIG to a kubeconfig file with a current context`,
      { kind: 'invalid_argument' },
    );
  return kc;
}

export function apiStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** No answer, a server error or throttling: worth trying again. */
export const isRetryable = (status: number | undefined) => status === undefined || status >= 500 || status === 429;

/** A Latchkey error for a failed API call: the status and what was being done, never the body. */
export function apiError(err: unknown, doing: string): LatchkeyError {
  const status = apiStatus(err);
  const retryable = isRetryable(status);
  return new LatchkeyError(
    retryable ? 'runtime.kubernetes_unavailable' : 'runtime.kubernetes_rejected',
    `Kubernetes API ${status === undefined ? 'unreachable' : `answered ${status}`} while ${doing}`,
    { kind: retryable ? 'unavailable' : 'failed_precondition', retryable },
  );
}
