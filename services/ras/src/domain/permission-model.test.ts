import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ACTION_RULES,
  ACTIONS,
  PERMISSIONS,
  permissionsOf,
  ROLE_PERMISSIONS,
  ROLES,
  rolesWith,
  type Permission,
  type Role,
} from './permission-model.js';

test('the role table: member lists and uses, maintainer also manages secrets, owner also manages Vault and grants and reads audit', () => {
  const table = Object.fromEntries(ROLES.map((r) => [r, [...ROLE_PERMISSIONS[r]].sort()]));
  assert.deepEqual(table, {
    member: ['LIST_SECRETS', 'USE_SECRETS'],
    maintainer: ['LIST_SECRETS', 'MANAGE_SECRETS', 'USE_SECRETS'],
    owner: ['LIST_SECRETS', 'MANAGE_GRANTS', 'MANAGE_SECRETS', 'MANAGE_VAULT', 'READ_AUDIT', 'USE_SECRETS'],
  });
});

test('each role holds everything the role below it holds', () => {
  const below: [Role, Role][] = [
    ['maintainer', 'member'],
    ['owner', 'maintainer'],
  ];
  for (const [upper, lower] of below)
    for (const p of ROLE_PERMISSIONS[lower]) assert.ok(ROLE_PERMISSIONS[upper].has(p), `${upper} lacks ${p}`);
});

test('MANAGE_VAULT, MANAGE_GRANTS and READ_AUDIT belong to owners alone', () => {
  assert.deepEqual(rolesWith('MANAGE_VAULT'), ['owner']);
  assert.deepEqual(rolesWith('READ_AUDIT'), ['owner']);
  assert.deepEqual(rolesWith('MANAGE_GRANTS'), ['owner']);
  assert.deepEqual(rolesWith('MANAGE_SECRETS'), ['owner', 'maintainer']);
  assert.deepEqual(rolesWith('LIST_SECRETS'), ['owner', 'maintainer', 'member']);
});

test('permissionsOf is the union of the roles held', () => {
  assert.deepEqual([...permissionsOf([])], []);
  assert.deepEqual([...permissionsOf(['member', 'member'])].sort(), ['LIST_SECRETS', 'USE_SECRETS']);
  assert.equal(permissionsOf(['member', 'owner']).size, PERMISSIONS.length);
});

test('every action the services ask about maps to a rule', () => {
  const domainActions: Record<string, Permission> = {
    'secret.list': 'LIST_SECRETS',
    'secret.use': 'USE_SECRETS',
    'secret.manage': 'MANAGE_SECRETS',
    'workload.read': 'LIST_SECRETS',
    'workload.manage': 'USE_SECRETS',
    'workload.deploy': 'USE_SECRETS',
    'vault.manage': 'MANAGE_VAULT',
    'domain.read': 'LIST_SECRETS',
    'grant.manage': 'MANAGE_GRANTS',
    'audit.read': 'READ_AUDIT',
  };
  for (const [action, permission] of Object.entries(domainActions)) {
    const rule = ACTION_RULES[action];
    assert.ok(rule?.kind === 'domain', action);
    assert.equal(rule.permission, permission, action);
  }
  assert.deepEqual(ACTION_RULES['domain.create'], { kind: 'platform' });
  assert.deepEqual(ACTION_RULES['kek.rotate'], { kind: 'platform' });
  assert.deepEqual(ACTION_RULES['audit.read_all'], { kind: 'platform' });
  assert.deepEqual(ACTION_RULES['bundle.view'], { kind: 'bundle', anyOf: ['VIEW', 'UPDATE'] });
  assert.deepEqual(ACTION_RULES['bundle.update'], { kind: 'bundle', anyOf: ['UPDATE'] });
  assert.deepEqual(ACTION_RULES['bundle.use'], { kind: 'bundle', anyOf: ['USE'] });
  assert.equal(ACTIONS.size, Object.keys(domainActions).length + 6);
});

test('only reads (secret.list, secret.use) may reach global scope from a domain', () => {
  const globalReads = Object.entries(ACTION_RULES)
    .filter(([, r]) => r.kind === 'domain' && r.globalRead)
    .map(([a]) => a)
    .sort();
  assert.deepEqual(globalReads, ['secret.list', 'secret.use']);
});
