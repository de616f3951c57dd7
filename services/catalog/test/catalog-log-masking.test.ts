import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, REDACTED, Redactor, valueForms } from '@latchkey/logger';
import { FakeAuthorizer } from '@latchkey/testing';
import { SecretService } from '../src/domain/secrets/secret-service.js';
import type { ValueBackend } from '../src/domain/value-backend.js';
import { databaseCatalog, usePostgres } from './support.js';

const postgres = usePostgres();

test("the catalog's log masks a value it is storing, in every form, whatever logs it; and holds it no longer than the call (a put, a rollback)", async (t) => {
  const { store, backend: database } = await databaseCatalog(t, postgres(), { prefix: 'catalog_masking' });
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
    destroyVersions: (input) => database.destroyVersions(input),
  };
  const secrets = new SecretService({
    store,
    authorizer: new FakeAuthorizer(),
    backend: chatty,
    logger,
    masker: redactor,
    onChange: () => undefined,
  });
  const value = 'catalog-canary-pä$$/wörd';
  const analytics = { domain: 'analytics', global: false };
  await secrets.put('admin', {
    scope: analytics,
    key: 'db_password',
    value: Buffer.from(value),
    description: '',
  });
  const text = lines.join('');
  assert.ok(text.includes(REDACTED), text);
  for (const form of valueForms(value)) assert.ok(!text.includes(form), `form ${form} leaked: ${text}`);
  assert.equal(redactor.size, 0, 'the value is no longer held once the call ended');

  // A rollback writes an older version's value again, read inside the catalog: masked the same way.
  await secrets.put('admin', {
    scope: analytics,
    key: 'db_password',
    value: Buffer.from('second-canary'),
    description: '',
  });
  lines.length = 0;
  await secrets.versions.rollback('admin', { scope: analytics, key: 'db_password', toVersion: 1 });
  const rolled = lines.join('');
  assert.ok(rolled.includes(REDACTED), rolled);
  for (const form of valueForms(value)) assert.ok(!rolled.includes(form), `form ${form} leaked on rollback: ${rolled}`);
  assert.equal(redactor.size, 0, 'the rolled-back value is no longer held once the call ended');
});
