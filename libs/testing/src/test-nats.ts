import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureNatsServerBinary, startNatsServer, startOnFreePort } from '@latchkey/embedded';
import { startInTempDir } from './temp-dir.js';

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
