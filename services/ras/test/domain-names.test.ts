import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unary } from '@latchkey/grpc';
import { admin, person, rejects, startRas, usePostgres } from './ras-fixture.js';

const postgres = usePostgres();

/** A domain name of `n` characters. */
const nameOf = (n: number): string => `d${'x7'.repeat(n)}`.slice(0, n);

test('creating a domain refuses a name that is not valid everywhere a domain goes, saying the limit and the pattern', async (t) => {
  const ras = await startRas(t, postgres());
  const rule =
    /a domain name is 1-54 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit/;
  await rejects(ras.domains.create(admin, 'team-'), 'domain.invalid_name', /it ends with '-'/);
  await rejects(ras.domains.create(admin, nameOf(55)), 'domain.invalid_name', /55 characters long; at most 54/);
  await rejects(ras.domains.create(admin, '7eleven'), 'domain.invalid_name', /does not start with a letter/);
  await rejects(ras.domains.create(admin, 'Analytics'), 'domain.invalid_name', rule);
  await rejects(ras.domains.create(admin, 'global'), 'domain.reserved');
  // Over gRPC too (the request-name check lets any existing domain's name through; creation is stricter).
  const c = ras.client('admin-token');
  await assert.rejects(unary(c.createDomain.bind(c), { name: nameOf(60) }), (err: Error) => {
    assert.match(err.message, /60 characters long; at most 54 are allowed/);
    return true;
  });
  const { rows } = await ras.pool.query<{ n: string }>('SELECT count(*) AS n FROM domains');
  assert.equal(rows[0]?.n, '0', 'no refused domain was stored');

  const longest = await ras.domains.create(admin, nameOf(54));
  assert.equal(longest.name, nameOf(54));
  assert.equal((await unary(c.createDomain.bind(c), { name: 'a-1' })).name, 'a-1');
});

test('a domain created under the looser rule before stays readable and usable, and its name cannot be created again', async (t) => {
  const ras = await startRas(t, postgres());
  // As an earlier version stored it (a trailing '-' was allowed then).
  await ras.pool.query("INSERT INTO domains (name, created_by) VALUES ('old-team-', 'admin')");
  assert.equal((await ras.domains.get(admin, 'old-team-')).name, 'old-team-');
  const olive = { kind: 'user' as const, id: 'olive' };
  await ras.grants.grant(admin, 'old-team-', olive, 'member');
  const d = await ras.domains.check({
    principal: 'olive',
    groups: [],
    action: 'secret.use',
    domain: 'old-team-',
    scope: '',
    resource: 'db_password',
  });
  assert.equal(d.allowed, true, d.reason);
  assert.deepEqual(
    (await ras.domains.list(person('olive'))).map((x) => x.name),
    ['old-team-'],
  );
  await rejects(ras.domains.create(admin, 'old-team-'), 'domain.invalid_name', /it ends with '-'/);
});
