import { ensureBubblewrapBinary } from '@latchkey/embedded';
import type { Pool } from '@latchkey/db';
import type { Logger, Redactor } from '@latchkey/logger';
import { NoopRuntime } from './adapters/noop-runtime.js';
import { PostgresSandboxIdentities } from './adapters/postgres-sandbox-identities.js';
import { ProcessRuntime } from './adapters/process-runtime.js';
import { prepareIsolation } from './adapters/process-sandbox.js';
import type { DeployerConfig } from './config.js';
import type { WorkloadRuntime } from './domain/ports.js';

export interface RuntimeDeps {
  pool: Pool;
  logger: Logger;
  /** The service log's redactor: workloads' output is masked with the same values. */
  redactor: Redactor;
}

/**
 * The runtime LATCHKEY_RUNTIME names: `process` (child processes, sandboxed
 * by bubblewrap unless LATCHKEY_PROCESS_ISOLATION=none), `kubernetes` (a Pod
 * per deployment) or `noop` (nothing runs). As the catalog's value-backend
 * factory chooses its backend.
 */
export async function createRuntime(config: DeployerConfig, deps: RuntimeDeps): Promise<WorkloadRuntime> {
  const { logger: log, redactor } = deps;
  switch (config.LATCHKEY_RUNTIME) {
    case 'noop':
      log.warn('LATCHKEY_RUNTIME=noop: workloads are recorded as deployed but nothing runs');
      return new NoopRuntime();
    case 'kubernetes': {
      // Loaded only here: the Kubernetes client is large, and most deployers run processes.
      const { KubernetesRuntime, loadKubeConfig } = await import('./adapters/kubernetes-runtime.js');
      return new KubernetesRuntime({
        kubeConfig: loadKubeConfig(config.LATCHKEY_KUBECONFIG),
        defaultImage: config.LATCHKEY_K8S_DEFAULT_IMAGE,
        namespacePrefix: config.LATCHKEY_K8S_NAMESPACE_PREFIX,
        ...(config.LATCHKEY_K8S_TERMINATION_GRACE_S === undefined
          ? {}
          : { terminationGraceSeconds: config.LATCHKEY_K8S_TERMINATION_GRACE_S }),
        logger: log,
        redactor,
        maxLineBytes: config.LATCHKEY_OUTPUT_LINE_MAX_BYTES,
      });
    }
    default:
      return processRuntime(config, deps);
  }
}

async function processRuntime(config: DeployerConfig, { pool, logger: log, redactor }: RuntimeDeps) {
  const isolation = await prepareIsolation({
    mode: config.LATCHKEY_PROCESS_ISOLATION,
    // As root on Debian, bubblewrap is installed when missing (as nats-server is by latchkey up).
    bwrap:
      config.LATCHKEY_PROCESS_ISOLATION === 'sandbox'
        ? await ensureBubblewrapBinary({ log: (line) => log.info(line) }).catch((err: unknown) => {
            log.warn('bubblewrap is not available', { err });
            return undefined;
          })
        : undefined,
    workDir: config.LATCHKEY_WORK_DIR,
    probeIds: { uid: config.LATCHKEY_SANDBOX_UID_RANGE.first, gid: config.LATCHKEY_SANDBOX_UID_RANGE.first },
  });
  if (isolation.kind === 'unavailable') log.error(`process runtime: every deployment is refused: ${isolation.reason}`);
  else if (isolation.kind === 'none') log.warn(`process runtime: ${isolation.warning}`);
  else log.info('process runtime: workloads run sandboxed', { bwrap: isolation.bwrap, perDomainUid: isolation.asRoot });
  return new ProcessRuntime({
    workDir: config.LATCHKEY_WORK_DIR,
    logger: log,
    redactor,
    maxLineBytes: config.LATCHKEY_OUTPUT_LINE_MAX_BYTES,
    isolation,
    identities: new PostgresSandboxIdentities(pool, config.LATCHKEY_SANDBOX_UID_RANGE),
  });
}
