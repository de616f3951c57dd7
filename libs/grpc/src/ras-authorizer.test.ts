import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { LatchkeyError } from '@latchkey/errors';
import { RasAuthorizer } from './ras-authorizer.js';

const question = { principal: 'alice', action: 'workload.deploy', domain: 'analytics', resource: 'job' };

async function listening(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

test('ras unreachable or silent: a check fails as ras.unavailable naming ras and its address, retryable', async () => {
  // Nothing listening.
  const probe = net.createServer();
  const closed = await listening(probe);
  await new Promise((r) => probe.close(r));
  // Accepts connections and never says a word (a frozen process): the call's deadline ends it.
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => void sockets.push(s));
  const silentPort = await listening(silent);
  try {
    for (const port of [closed, silentPort]) {
      const ras = new RasAuthorizer(`127.0.0.1:${port}`, 'test-token');
      try {
        for (const asked of [ras.check(question), ras.checkBatch([question])]) {
          const err = await asked.then(
            () => assert.fail('answered'),
            (e: unknown) => e,
          );
          assert.ok(err instanceof LatchkeyError);
          assert.equal(err.code, 'ras.unavailable');
          assert.equal(err.retryable, true);
          assert.match(
            err.message,
            new RegExp(`^ras \\(127\\.0\\.0\\.1:${port}\\) did not answer the permission check \\(grpc\\.`),
          );
          assert.match(err.message, /try again once ras is back$/);
          assert.ok(!err.message.includes('test-token'));
        }
      } finally {
        ras.close();
      }
    }
  } finally {
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => silent.close(r));
  }
});
