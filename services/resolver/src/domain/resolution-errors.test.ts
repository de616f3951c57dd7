import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unavailable } from '@latchkey/errors';
import type { ReferenceSpec } from '@latchkey/events';
import {
  auditUnavailable,
  bundleDenied,
  bundleLookupFailed,
  catalogNoAnswer,
  catalogRefused,
  catalogUnreadable,
  crossDomain,
  invalidRequest,
  permissionsUnchecked,
  referenceDenied,
  RESOLUTION_ERROR_CODES,
  retryLater,
  secretsV2Disabled,
  unattributedDeploying,
  unattributedRequest,
  valuesTooLarge,
  valueTooLarge,
} from './resolution-errors.js';

const ref: ReferenceSpec = {
  refId: 'MANAGED:analytics:k',
  key: 'k',
  sourceType: 'MANAGED',
  sourceId: 'analytics',
  legacy: false,
};
const down = unavailable('grpc.unavailable', 'connect ECONNREFUSED');

test('every code the resolver gives of its own is in RESOLUTION_ERROR_CODES, and an unreachable backend is retryable', () => {
  const given = [
    auditUnavailable(),
    bundleDenied(ref, 'team-vault', undefined),
    bundleLookupFailed(ref, down),
    catalogNoAnswer(ref),
    catalogUnreadable(down),
    crossDomain(ref, 'finance', 'analytics'),
    invalidRequest('mode must be check or dry_run'),
    permissionsUnchecked(down),
    referenceDenied(undefined),
    retryLater('d1', 1, 6, ['catalog.unavailable']),
    unattributedDeploying('e1', 'it carries no signature'),
    unattributedRequest('plan request', 'it carries no signature'),
    unattributedRequest('runtime read', 'it carries no signature'),
    valuesTooLarge(1200, 1000),
    valueTooLarge(ref, { scope: 'analytics', version: 1 }, 300, 256),
    secretsV2Disabled(ref),
  ];
  for (const g of given) {
    assert.ok((RESOLUTION_ERROR_CODES as readonly string[]).includes('code' in g ? g.code : ''), JSON.stringify(g));
  }
  assert.deepEqual(
    [bundleLookupFailed(ref, down), catalogUnreadable(down), permissionsUnchecked(down)].map((p) => [
      p.code,
      p.retryable,
    ]),
    [
      ['catalog.unavailable', true],
      ['catalog.unavailable', true],
      ['ras.unavailable', true],
    ],
  );
  assert.equal(retryLater('d1', 2, 6, ['vault.sealed', 'vault.sealed']).retryable, true);
  assert.match(retryLater('d1', 2, 6, ['vault.sealed', 'vault.sealed']).message, /attempt 2 of 6 .*\(vault\.sealed\)$/);
});

test("a team Vault's failure is waited for when a later attempt may not meet it, and fails at once when it would", () => {
  const verdicts = Object.fromEntries(
    [
      'vault.sealed',
      'vault.unreachable',
      'vault.rate_limited',
      'vault.server_error',
      'vault.permission_denied',
      'vault.not_found',
      'vault.tls_failure',
      'vault.auth_failed',
    ].map((code) => [code, catalogRefused(code, 'm').retryable]),
  );
  assert.deepEqual(verdicts, {
    'vault.sealed': true,
    'vault.unreachable': true,
    'vault.rate_limited': true,
    'vault.server_error': true,
    'vault.permission_denied': false,
    'vault.not_found': false,
    'vault.tls_failure': false,
    'vault.auth_failed': false,
  });
});
