import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { packagesLoadedBy } from '@latchkey/testing';
import { REPO } from './system-harness.js';

// Every service imports @latchkey/events at start. Its AsyncAPI validator (ajv and its formats,
// some 150 modules) is for the tests that hold the bus to the document, behind @latchkey/events/contract.
test('a service start loads neither ajv nor ajv-formats; the events contract entry does', async () => {
  // Without its settings ras stops at the configuration check, after every module of its start is loaded.
  const ras = await packagesLoadedBy([join(REPO, 'services/ras/dist/src/main.js')], { PATH: process.env['PATH'] });
  assert.ok(ras.has('@latchkey/events') || ras.has('nats'), `the hook sees what is loaded: ${[...ras].join(', ')}`);
  assert.ok(!ras.has('ajv') && !ras.has('ajv-formats'), `ajv is not loaded by a service start: ${[...ras].join(', ')}`);
  const contract = await packagesLoadedBy(['--input-type=module', '-e', "await import('@latchkey/events/contract');"]);
  assert.ok(contract.has('ajv'), 'the contract entry loads ajv');
});
