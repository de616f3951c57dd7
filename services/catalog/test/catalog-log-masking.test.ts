import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { ensureKekFile } from '@latchkey/crypto';
import { createPool, migrate } from '@latchkey/db';
import { ensureEventTables } from '@latchkey/events';
import type { AuthorizationQuestion, Authorizer, Decision } from '@latchkey/authz';
import { createLogger, REDACTED, Redactor, valueForms } from '@latchkey/logger';
import { createTestDatabase, startTestPostgres, type TestPostgres } from '@latchkey/testing';
import { DatabaseValueBackend } from '../src/adapters/database-value-backend.js';
import { KekRing } from '../src/adapters/kek-ring.js';
import { PostgresSecretStore } from '../src/adapters/postgres-secret-store.js';
import { SecretService } from '../src/domain/secrets/secret-service.js';
import type { ValueBackend } from '../src/domain/value-backend.js';

const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url));

let postgres: TestPostgres;
before(async () => {
  postgres = await startTestPostgres([]);
});
after(async () => {
  await postgres?.stop();
});

class AllowAll implements Authorizer {
  check(_q: AuthorizationQuestion): Promise<Decision> {
    return Promise.resolve({ allowed: true, code: '', reason: '' });
  }
  checkBatch(qs: AuthorizationQuestion[]): Promise<Decision[]> {
    return Promise.resolve(qs.map(() => ({ allowed: true, code: '', reason: '' })));
  }
}

test("the catalog's log masks a value it is storing, in every form, whatever logs it; and holds it no longer than the call", async (t) => {
  const pool = createPool(await createTestDatabase(postgres, 'catalog_masking'));
  t.after(() => pool.end());
  await ensureEventTables(pool);
  await migrate(pool, MIGRATIONS);
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-kek-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await ensureKekFile(join(dir, 'kek.json'));
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  // As the catalog's main wires it.
  const redactor = new Redactor();
  const logger = createLogger({ service: 'catalog', destination, redactor });
  const database = new DatabaseValueBackend(pool, await KekRing.load(join(dir, 'kek.json')));
  // A backend that logs what it was given (as a driver's error might).
  const chatty: ValueBackend = {
    kind: database.kind,
    write: async (input) => {
      const v = input.value.toString('utf8');
      logger.warn(`backend retry for ${v}`, { body: JSON.stringify({ data: Buffer.from(v).toString('base64') }), v });
      return database.write(input);
    },
    read: (input) => database.read(input),
    remove: (input) => database.remove(input),
  };
  const secrets = new SecretService({
    store: new PostgresSecretStore(pool),
    authorizer: new AllowAll(),
    backend: chatty,
    maxValueBytes: 64 * 1024,
    logger,
    masker: redactor,
    onChange: () => undefined,
  });
  const value = 'catalog-canary-pä$$/wörd';
  await secrets.put('admin', {
    scope: { domain: 'analytics', global: false },
    key: 'db_password',
    value: Buffer.from(value),
    description: '',
  });
  const text = lines.join('');
  assert.ok(text.includes(REDACTED), text);
  for (const form of valueForms(value)) assert.ok(!text.includes(form), `form ${form} leaked: ${text}`);
  assert.equal(redactor.size, 0, 'the value is no longer held once the call ended');
});
