import { after, before, type TestContext } from 'node:test';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { ensureStream, type StreamSpec } from '@latchkey/nats';
import { startTestNats, type TestNats } from './test-nats.js';
import { startTestPostgres, type TestPostgres } from './test-postgres.js';

/**
 * One test PostgreSQL for the test file that calls this at its top level:
 * started before its first test, stopped after its last. The getter gives it
 * (inside a test or hook).
 */
export function usePostgres(): () => TestPostgres {
  let postgres: TestPostgres | undefined;
  before(async () => {
    postgres = await startTestPostgres([]);
  });
  after(async () => {
    await postgres?.stop();
  });
  return () => {
    if (!postgres) throw new Error('the test PostgreSQL is not started: call the getter inside a test or hook');
    return postgres;
  };
}

export interface TestBus {
  nats: TestNats;
  nc: NatsConnection;
  jsm: JetStreamManager;
}

/**
 * A nats-server of the test's own with `streams` (e.g. libs/events' STREAMS)
 * created, and a connection to it; both closed when the test ends.
 */
export async function startTestBus(
  t: Pick<TestContext, 'after'>,
  streams: readonly StreamSpec[] = [],
): Promise<TestBus> {
  const nats = await startTestNats();
  const nc = await connect({ servers: nats.url });
  t.after(async () => {
    await nc.close();
    await nats.stop();
  });
  const jsm = await nc.jetstreamManager();
  for (const s of streams) await ensureStream(jsm, s);
  return { nats, nc, jsm };
}
