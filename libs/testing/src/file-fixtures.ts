import { after, before, type TestContext } from 'node:test';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
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
 * A nats-server of the test's own and a connection to it, both closed when
 * the test ends. The caller creates the streams it needs (libs/nats'
 * ensureStream): libs/testing does not depend on the libs it tests.
 */
export async function startTestBus(t: Pick<TestContext, 'after'>): Promise<TestBus> {
  const nats = await startTestNats();
  const nc = await connect({ servers: nats.url });
  t.after(async () => {
    await nc.close();
    await nats.stop();
  });
  const jsm = await nc.jetstreamManager();
  return { nats, nc, jsm };
}
