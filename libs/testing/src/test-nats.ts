import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ensureNatsServerBinary,
  findFreePort,
  JETSTREAM_LEADER_LINE,
  natsClusterUrls,
  planNatsCluster,
  startNatsServer,
  startOnFreePort,
  writeNatsNodeConfig,
  type NatsServerHandle,
} from '@latchkey/embedded';
import { connect, StorageType } from 'nats';
import { startInTempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

export interface TestNats {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Stops the server and removes its JetStream store. */
  stop(): Promise<void>;
}

export interface StartTestNatsOptions {
  log?: (line: string) => void;
  /**
   * nats-server configuration text: pass serverAuthConfig() of @latchkey/nats
   * to run with the product's real authorization and TLS (as `latchkey up`
   * does). Without it the server accepts anyone: only for component tests
   * that do not test the bus's authorization.
   */
  serverConfig?: string;
}

/** Starts a private nats-server with JetStream on a free port and a temporary store dir. */
export async function startTestNats(opts: StartTestNatsOptions = {}): Promise<TestNats> {
  const binary = await ensureNatsServerBinary(opts.log === undefined ? {} : { log: opts.log });
  return startInTempDir('latchkey-test-nats-', async (store) => {
    let configFile: string | undefined;
    if (opts.serverConfig !== undefined) {
      configFile = path.join(store.path, 'nats-server.conf');
      await writeFile(configFile, opts.serverConfig, { mode: 0o600 });
    }
    const server = await startOnFreePort((port) =>
      startNatsServer({
        port,
        storeDir: path.join(store.path, 'store'),
        binary,
        serverName: `test-${process.pid}`,
        ...(configFile === undefined ? {} : { configFile }),
        ...(opts.log === undefined ? {} : { log: opts.log }),
      }),
    );
    return { url: server.url, port: server.port, stop: () => server.stop() };
  });
}

/** A private NATS cluster: every node's URL (comma-separated, as LATCHKEY_NATS_URL takes it). */
export interface TestNatsCluster {
  readonly urls: string;
  /** Stops every node and removes their stores. */
  stop(): Promise<void>;
}

/**
 * Starts `nodes` nats-server nodes as one JetStream cluster (the routes and
 * route password of planNatsCluster, as `latchkey up` with
 * LATCHKEY_NATS_NODES) on free ports, and resolves once it has a JetStream
 * meta leader. Without `serverConfig` the nodes accept anyone.
 */
/**
 * A meta leader is elected as soon as a majority of the nodes know each other;
 * the last node may join JetStream a moment later, and until then a stream on
 * every node is refused ("no suitable peers for placement"). Waits until one
 * can be placed on all `n` (a memory stream, removed at once).
 */
async function waitForAllPeers(urls: string, n: number, timeoutMs: number): Promise<void> {
  const nc = await connect({ servers: urls.split(',') });
  try {
    const jsm = await nc.jetstreamManager();
    await waitFor(
      async () => {
        await jsm.streams.add({
          name: 'LATCHKEY_TEST_PEERS',
          subjects: ['latchkey-test.peers'],
          num_replicas: n,
          storage: StorageType.Memory,
        });
        await jsm.streams.delete('LATCHKEY_TEST_PEERS');
        return true;
      },
      { what: `a stream to be placed on all ${n} test NATS nodes`, timeoutMs, intervalMs: 200 },
    );
  } finally {
    await nc.close();
  }
}

export async function startTestNatsCluster(
  opts: StartTestNatsOptions & { nodes?: number; leaderTimeoutMs?: number } = {},
): Promise<TestNatsCluster> {
  const binary = await ensureNatsServerBinary(opts.log === undefined ? {} : { log: opts.log });
  const n = opts.nodes ?? 3;
  const ports: number[] = [];
  while (ports.length < 2 * n) {
    const p = await findFreePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const plan = planNatsCluster({ clientPorts: ports.slice(0, n), clusterPorts: ports.slice(n) });
  return startInTempDir('latchkey-test-nats-cluster-', async (dir) => {
    let onLeader: () => void = () => undefined;
    const leader = new Promise<void>((resolve) => (onLeader = resolve));
    const servers: NatsServerHandle[] = [];
    const stop = async (): Promise<void> => {
      await Promise.all(servers.map((s) => s.stop()));
    };
    try {
      for (const node of plan.nodes) {
        const file = path.join(dir.path, `${node.name}.conf`);
        await writeNatsNodeConfig(file, opts.serverConfig ?? '', plan, node);
        servers.push(
          await startNatsServer({
            port: node.clientPort,
            storeDir: path.join(dir.path, node.name),
            binary,
            serverName: node.name,
            configFile: file,
            log: (line) => {
              opts.log?.(line);
              if (JETSTREAM_LEADER_LINE.test(line)) onLeader();
            },
          }),
        );
      }
      let timer: NodeJS.Timeout | undefined;
      const timeoutMs = opts.leaderTimeoutMs ?? 30_000;
      const elected = await Promise.race([
        leader.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (!elected) throw new Error(`the ${n} test NATS nodes elected no JetStream leader within ${timeoutMs}ms`);
      // With a config of its own (accounts, TLS) the caller connects as it knows how, and waits itself.
      if (opts.serverConfig === undefined) await waitForAllPeers(natsClusterUrls(plan), n, timeoutMs);
    } catch (err) {
      await stop();
      throw err;
    }
    return { urls: natsClusterUrls(plan), stop };
  });
}
