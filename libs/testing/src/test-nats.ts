import { ensureNatsServerBinary, startNatsServer, startOnFreePort } from '@latchkey/embedded';
import { tempDir } from './temp-dir.js';

export interface TestNats {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Stops the server and removes its JetStream store. */
  stop(): Promise<void>;
}

/** Starts a private nats-server with JetStream on a free port and a temporary store dir. */
export async function startTestNats(opts: { log?: (line: string) => void } = {}): Promise<TestNats> {
  const binary = await ensureNatsServerBinary(opts.log === undefined ? {} : { log: opts.log });
  const store = await tempDir('latchkey-test-nats-');
  try {
    const server = await startOnFreePort((port) =>
      startNatsServer({
        port,
        storeDir: store.path,
        binary,
        serverName: `test-${process.pid}`,
        ...(opts.log === undefined ? {} : { log: opts.log }),
      }),
    );
    return {
      url: server.url,
      port: server.port,
      stop: async () => {
        try {
          await server.stop();
        } finally {
          await store.cleanup();
        }
      },
    };
  } catch (err) {
    await store.cleanup();
    throw err;
  }
}
