import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LatchkeyError } from '@latchkey/errors';
import {
  AUDIT_ERROR_CODES,
  decisionUnaudited,
  invalidActor,
  invalidLimit,
  invalidPageToken,
  invalidSince,
} from './audit-errors.js';
import { BUNDLE_ERROR_CODES, bundleExists, bundleNotFound, invalidBundleName } from './bundle-errors.js';
import {
  DOMAIN_ERROR_CODES,
  domainExists,
  domainNotFound,
  globalIsNoDomain,
  globalNameReserved,
  onlyAdminsCreateDomains,
} from './domain-errors.js';
import {
  credentialsUnavailable,
  EVENT_CREDENTIAL_ERROR_CODES,
  invalidSubscriberName,
  invalidTtl,
  noDomain,
  tooManyDomains,
} from './event-credential-errors.js';
import * as grants from './grant-errors.js';
import { requireDomainName } from './request-parsers.js';

const mia = { kind: 'user' as const, id: 'mia' };

test('each concept’s errors carry codes from that concept’s one list', () => {
  const concepts: [readonly string[], LatchkeyError[]][] = [
    [
      DOMAIN_ERROR_CODES,
      [
        domainExists('analytics'),
        domainNotFound('analytics'),
        globalIsNoDomain(),
        globalNameReserved(),
        onlyAdminsCreateDomains(),
      ],
    ],
    [BUNDLE_ERROR_CODES, [bundleExists('analytics', 'b'), bundleNotFound('analytics', 'b'), invalidBundleName('')]],
    [
      grants.GRANT_ERROR_CODES,
      [
        grants.grantNotFound('role', mia, 'in domain analytics', 'see who does'),
        grants.invalidGrantee('user', ''),
        grants.invalidGranteeKind('robot'),
        grants.invalidPermission('OWN'),
        grants.invalidRole('boss'),
        grants.noGrantee(),
        grants.noPermission(),
        grants.roleMismatch(mia, 'analytics', 'owner', 'member'),
      ],
    ],
    [
      AUDIT_ERROR_CODES,
      [
        invalidActor(),
        invalidLimit(0, 1000),
        invalidPageToken(),
        invalidSince('yesterday'),
        decisionUnaudited(invalidActor()),
      ],
    ],
    [
      EVENT_CREDENTIAL_ERROR_CODES,
      [
        credentialsUnavailable(),
        invalidSubscriberName('X', /^[a-z]+$/),
        invalidTtl(0, 3650),
        noDomain(),
        tooManyDomains(17, 16),
      ],
    ],
  ];
  for (const [codes, errors] of concepts) {
    for (const e of errors)
      assert.ok(codes.includes(e.code), `${e.code} is not in its concept's list ${codes.join(', ')}`);
  }
  assert.equal(domainNotFound('nowhere').code, 'domain.not_found');
  assert.equal(domainNotFound('nowhere').kind, 'not_found');
});

test('a domain name as an RPC argument: global is reserved (ras’s own words), a bad name is the one check’s refusal', () => {
  assert.throws(() => requireDomainName('global'), {
    code: 'domain.reserved',
    message:
      '"global" is the platform-wide scope, not a domain: it has no roles or bundles (platform admins manage it)',
  });
  assert.throws(() => requireDomainName('Bad_Name'), {
    code: 'domain.invalid_name',
    message: /invalid domain name "Bad_Name"/,
  });
  assert.throws(() => requireDomainName(''), { code: 'domain.invalid_name', message: /^no domain given/ });
  assert.doesNotThrow(() => requireDomainName('analytics'));
});
