import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const INDEX = fileURLToPath(new URL('./index.js', import.meta.url));

/** The packages an import of `entry` resolves (named by a resolve hook in a child process). */
function packagesLoadedBy(entry: string): Set<string> {
  const resolver = `export async function resolve(specifier, context, next) {
  const found = await next(specifier, context);
  const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(found.url);
  if (m) process.stderr.write('LOADED ' + m[1] + '\\n');
  return found;
}`;
  const hook = `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(resolver)}));`;
  const res = spawnSync(
    process.execPath,
    [
      '--import',
      `data:text/javascript,${encodeURIComponent(hook)}`,
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(entry)});`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(res.status, 0, res.stderr);
  return new Set([...res.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1] ?? ''));
}

// Every service imports the index at start: the AsyncAPI validator's ajv (and its
// formats, some 150 modules) is for tests only, behind @latchkey/events/contract.
test('the events index loads neither ajv nor ajv-formats; the contract entry does', () => {
  const index = packagesLoadedBy(INDEX);
  assert.ok(index.has('nats') || index.has('@nats-io/nkeys'), `the hook sees what is loaded: ${[...index].join(', ')}`);
  assert.ok(!index.has('ajv') && !index.has('ajv-formats'), `ajv is not loaded by the index: ${[...index].join(', ')}`);
  const contract = packagesLoadedBy(fileURLToPath(new URL('./asyncapi-validator.js', import.meta.url)));
  assert.ok(contract.has('ajv'), 'the contract entry loads ajv');
});
