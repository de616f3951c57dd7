/** The lifecycle the test fixtures (emulators, the test PostgreSQL) share. */
import { after, before } from 'node:test';

/**
 * Starts a server before the tests of the current file (or suite) and stops
 * it after them; the returned getter gives the server once started.
 */
export function startedForTests<T extends { stop(): Promise<void> }>(what: string, start: () => Promise<T>): () => T {
  let started: T | undefined;
  before(async () => {
    started = await start();
  });
  after(async () => {
    await started?.stop();
  });
  return () => {
    if (started === undefined) throw new Error(`${what} is not started: call the getter inside a test or hook`);
    return started;
  };
}
