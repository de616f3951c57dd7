import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkDomainName,
  checkNewDomainName,
  DOMAIN_NAME,
  DOMAIN_NAME_MAX,
  NEW_DOMAIN_NAME,
  newDomainNameProblem,
} from './names.js';

/** A domain name of `n` characters: a letter, then digits and letters. */
const nameOf = (n: number): string => `d${'a1'.repeat(n)}`.slice(0, n);

test('a new domain name is at most 54 characters: latchkey-<domain> is then a 63-character DNS label', () => {
  assert.equal(DOMAIN_NAME_MAX, 54);
  assert.equal(`latchkey-${nameOf(54)}`.length, 63);
  assert.equal(newDomainNameProblem(nameOf(54)), undefined);
  assert.doesNotThrow(() => checkNewDomainName(nameOf(54)));
  assert.match(newDomainNameProblem(nameOf(55)) ?? '', /^it is 55 characters long; at most 54 are allowed/);
  assert.throws(() => checkNewDomainName(nameOf(55)), {
    code: 'domain.invalid_name',
    message:
      /it is 55 characters long; at most 54 are allowed .*a domain name is 1-54 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit \(\^\[a-z\]/,
  });
});

test('a new domain name ends with a letter or digit, never with -', () => {
  for (const name of ['a-', 'team-', 'analytics--']) {
    assert.throws(() => checkNewDomainName(name), {
      code: 'domain.invalid_name',
      message: new RegExp(`invalid domain name "${name}": it ends with '-'`),
    });
  }
  assert.doesNotThrow(() => checkNewDomainName('a-b'));
  assert.doesNotThrow(() => checkNewDomainName('data--eng'));
});

test('a new domain name starts with a letter', () => {
  for (const name of ['1team', '9', '-a']) {
    assert.throws(() => checkNewDomainName(name), {
      code: 'domain.invalid_name',
      message: /it does not start with a letter/,
    });
  }
  assert.doesNotThrow(() => checkNewDomainName('a'));
  assert.doesNotThrow(() => checkNewDomainName('team1'));
});

test('a new domain name is lowercase letters, digits and - only (no NATS wildcard or subject separator)', () => {
  assert.throws(() => checkNewDomainName('Analytics'), { code: 'domain.invalid_name', message: /uppercase/ });
  for (const name of ['a.b', 'a*', 'a>', 'a b', 'a_b', 'a/b', 'équipe']) {
    assert.throws(() => checkNewDomainName(name), {
      code: 'domain.invalid_name',
      message: /characters other than lowercase letters, digits and '-'/,
    });
  }
  assert.throws(() => checkNewDomainName(''), { code: 'domain.invalid_name', message: /^no domain name given/ });
});

test('every new domain name is a name the services accept; domains of the looser rule stay accepted', () => {
  for (const name of ['a', 'analytics', 'a-b', nameOf(54)]) {
    assert.ok(NEW_DOMAIN_NAME.test(name) && DOMAIN_NAME.test(name), name);
  }
  // Created before the rule: still a domain name where one is named (readable), never created again.
  for (const name of ['a-', '1team', nameOf(63)]) {
    assert.doesNotThrow(() => checkDomainName(name), name);
    assert.throws(() => checkNewDomainName(name), { code: 'domain.invalid_name' }, name);
  }
  assert.throws(() => checkDomainName(nameOf(64)), { code: 'domain.invalid_name' });
});
