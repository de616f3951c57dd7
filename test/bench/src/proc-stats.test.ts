import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parentPidOf, serviceOfCommandLine } from './proc-stats.js';

test("a process's parent is read after its command, even when the command has spaces and parentheses", () => {
  assert.equal(parentPidOf('4242 (node) S 4200 4242 4200 0 -1 4194304'), 4200);
  assert.equal(parentPidOf('77 (my (odd) cmd) R 1 77 77 0 -1'), 1);
});

test('service processes are recognised by their compiled entry point, nothing else', () => {
  assert.equal(serviceOfCommandLine(['/usr/bin/node', '/work/main/services/resolver/dist/src/main.js']), 'resolver');
  assert.equal(serviceOfCommandLine(['node', 'services/deployer/dist/src/main.js']), 'deployer');
  assert.equal(serviceOfCommandLine(['node', '/work/main/cli/bin/latchkey.js', 'up']), undefined);
  assert.equal(serviceOfCommandLine(['node', 'services/deployer/dist/test/workload-repo.test.js']), undefined);
});
