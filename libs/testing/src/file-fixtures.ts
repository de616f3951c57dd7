import type { TestContext } from 'node:test';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { startedForTests } from './emulator-common/test-fixture.js';
import { acquireTestPostgres } from './shared-postgres.js';
import { startTestNats, type TestNats } from './test-nats.js';
import type { TestPostgres } from './test-postgres.js';

/**
 * The test PostgreSQL of the test file (or describe block) that calls this:
 * the run's shared one when scripts/run-tests.mjs started one (see
 * SHARED_POSTGRES_ENV), else one started before its first test; either way
 * released after its last (a started one stopped, the databases made in the
 * shared one dropped). The getter gives it (inside a test or hook). Take a
 * fresh database per test (freshDatabase): never stop it, never rely on a
 * fixed database name.
 */
export function usePostgres(): () => TestPostgres {
  return startedForTests('the test PostgreSQL', acquireTestPostgres);
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
