import { connect, type NatsConnection, type JetStreamClient, type JetStreamManager } from 'nats';
import { unavailable } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';

export interface Bus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Stops taking new messages, lets in-flight ones finish, closes. */
  drain(): Promise<void>;
}

export async function connectBus(url: string, name: string, logger: Logger): Promise<Bus> {
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  } catch (cause) {
    throw unavailable(
      'nats.unreachable',
      `cannot connect to NATS at ${url}: is it running? (LATCHKEY_NATS_URL)`,
      cause,
    );
  }
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') {
        logger.warn('nats connection status', { status: s.type });
      }
    }
  })().catch(() => undefined);
  const jsm = await nc.jetstreamManager({ timeout: 10_000 });
  const js = nc.jetstream();
  return {
    nc,
    js,
    jsm,
    async drain() {
      if (!nc.isClosed()) await nc.drain().catch(() => nc.close());
    },
  };
}
