/** A real single-node k3s cluster through testcontainers. */
import type { KubeConfig } from '@kubernetes/client-node';
import { containerSkipReason } from '../emulator-common/container-runtime.js';

/** A real single-node k3s cluster in a container, for the suites that also run against the emulator. */
export interface TestK3s {
  /** https://<host>:<mapped port> of the API server. */
  readonly server: string;
  /** A KubeConfig for the cluster (client-certificate auth), optionally aimed at another server URL. */
  kubeConfig(server?: string): KubeConfig;
  stop(): Promise<void>;
}

const K3S_IMAGE = 'rancher/k3s:v1.31.4-k3s1';
const K3S_KUBECONFIG = '/etc/rancher/k3s/k3s.yaml';

/**
 * Why the k3s suites must be skipped, or undefined when they can run: they
 * need LATCHKEY_TEST_DOCKER=1 and a container runtime that answers.
 */
export function k3sSkipReason(): Promise<string | undefined> {
  return containerSkipReason('set LATCHKEY_TEST_DOCKER=1 to also run against k3s');
}

/** Starts k3s (privileged, as k3s requires) and waits until its node controller has synced. */
export async function startTestK3s(opts: { image?: string } = {}): Promise<TestK3s> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const { KubeConfig: KubeConfigClass } = await import('@kubernetes/client-node');
  const container = await new GenericContainer(opts.image ?? K3S_IMAGE)
    .withExposedPorts(6443)
    .withPrivilegedMode()
    .withCommand(['server', '--disable=traefik', '--disable=metrics-server'])
    .withTmpFs({ '/run': 'rw', '/var/run': 'rw' })
    .withWaitStrategy(Wait.forLogMessage('Node controller sync successful'))
    .withStartupTimeout(180_000)
    .start();
  try {
    const read = await container.exec(['cat', K3S_KUBECONFIG]);
    if (read.exitCode !== 0) throw new Error(`could not read ${K3S_KUBECONFIG} from the k3s container`);
    const raw = read.stdout;
    const server = `https://${container.getHost()}:${container.getMappedPort(6443)}`;
    return {
      server,
      kubeConfig(override) {
        const kc = new KubeConfigClass();
        kc.loadFromString(raw.replace(/server:\s?\S+/, `server: ${override ?? server}`));
        return kc;
      },
      async stop() {
        await container.stop();
      },
    };
  } catch (err) {
    await container.stop();
    throw err;
  }
}
