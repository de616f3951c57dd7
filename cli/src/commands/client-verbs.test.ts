import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Metadata, Server, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  CatalogServiceService,
  DeployerServiceService,
  type Deployment,
  type DeploymentPlan,
  type PlannedReference,
  type PutSecretRequest,
  type SecretMetadata,
} from '@latchkey/proto';
import { writeConnectionFile } from '../local-state/connection-file.js';
import { generateCredentials } from '../local-state/credentials-file.js';
import { writeIdentityFile } from '../local-state/identity-file.js';
import { fakeIo } from '../testing/fake-io.js';
import { fakeServerTls } from '../testing/fake-server-tls.js';
import { main } from '../main.js';

const VAULT_ID = '0f5c6a2e-3d41-4b7a-9e08-6c2d1b4a7f35';

/** A stand-in for catalog and deployer on one port: records what it was sent. */
const seen: { puts: PutSecretRequest[]; auth: string[] } = { puts: [], auth: [] };
let polls = 0;
let home = '';
let server: Server;
const creds = generateCredentials();

function deployment(status: string, extra: Partial<Deployment> = {}): Deployment {
  return {
    id: 'd-1',
    domain: 'analytics',
    workload: 'job',
    status,
    reasons: [],
    versions: [],
    principal: 'admin',
    createdAt: '',
    updatedAt: '',
    pid: 0,
    exitCode: 0,
    warnings: [],
    attempts: 0,
    trigger: '',
    runner: '',
    stopRequestedAt: '',
    stopRequestedBy: '',
    ...extra,
  };
}

const WAITING = [
  'waiting: resolution attempt 1 of 6 found a backend unavailable; retrying with backoff',
  'db_password (LEGACY:db_password): Vault integration team could not be read (vault.sealed) [vault.sealed]',
];

function plannedRef(refId: string, key: string, extra: Partial<PlannedReference> = {}): PlannedReference {
  return {
    refId,
    key,
    sourceType: 'MANAGED',
    ok: true,
    scope: 'analytics',
    version: 3,
    shadowedGlobal: false,
    code: '',
    message: '',
    retryable: false,
    ...extra,
  };
}

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void;
const unimplemented: Unary<unknown, never> = (_call, cb) =>
  cb({ code: status.UNIMPLEMENTED, details: 'not in this fake' });

before(async () => {
  home = path.join(await mkdtemp(path.join(tmpdir(), 'latchkey-verbs-')));
  server = new Server();
  const putSecret: Unary<PutSecretRequest, SecretMetadata> = (call, cb) => {
    seen.puts.push(call.request);
    seen.auth.push(String(call.metadata.get('authorization')[0]));
    if (call.request.key === 'BAD') {
      const md = new Metadata();
      md.set('latchkey-error-code', 'secret.invalid_key');
      cb({ code: status.INVALID_ARGUMENT, details: 'key BAD is reserved', metadata: md });
      return;
    }
    cb(null, {
      scope: call.request.scope,
      key: call.request.key,
      source: 'MANAGED',
      version: 3,
      createdAt: '',
      updatedAt: '',
      updatedBy: 'admin',
      description: call.request.description,
      // The catalog answers with the policy in force: as given, none after `never`, kept (here: none) when absent.
      rotateEvery: call.request.rotateEvery === 'never' ? '' : (call.request.rotateEvery ?? ''),
    });
  };
  server.addService(CatalogServiceService, { putSecret, listSecrets: unimplemented, deleteSecret: unimplemented });
  const deploy: Unary<{ name: string }, Deployment> = (call, cb) => {
    polls = 0;
    const ids: Record<string, string> = { broken: 'd-2', waits: 'd-3' };
    cb(null, deployment('pending', { workload: call.request.name, id: ids[call.request.name] ?? 'd-1' }));
  };
  const getDeployment: Unary<{ id: string }, Deployment> = (call, cb) => {
    polls++;
    if (call.request.id === 'd-3') {
      // Waits for a sealed Vault over two polls, then resolves.
      if (polls < 3) cb(null, deployment('resolving', { id: 'd-3', reasons: WAITING, attempts: 1 }));
      else
        cb(
          null,
          deployment('deployed', {
            id: 'd-3',
            attempts: 1,
            warnings: ['resolved on attempt 2 of 6, after waiting for an unavailable backend'],
          }),
        );
      return;
    }
    if (polls < 3) cb(null, deployment('resolving', { id: call.request.id }));
    else if (call.request.id === 'd-2')
      cb(null, deployment('failed', { id: 'd-2', reasons: ['DB_PASSWORD: not found in domain analytics'] }));
    else
      cb(
        null,
        deployment('deployed', {
          versions: [{ refId: 'r', key: 'DB_PASSWORD', sourceType: 'MANAGED', scope: 'analytics', version: 3 }],
        }),
      );
  };
  const dryRun: Unary<{ domain: string; name: string }, DeploymentPlan> = (call, cb) => {
    const good = plannedRef('LEGACY:db_password', 'db_password', { shadowedGlobal: true });
    cb(
      null,
      call.request.name === 'broken'
        ? {
            domain: call.request.domain,
            workload: 'broken',
            ok: false,
            references: [
              good,
              plannedRef('MANAGED:analytics:absent', 'absent', {
                ok: false,
                scope: '',
                version: 0,
                code: 'secret.not_found',
                message: 'secret absent not found in domain analytics',
              }),
              plannedRef(`VAULT:${VAULT_ID}:team`, 'team', {
                sourceType: 'VAULT',
                ok: false,
                scope: '',
                version: 0,
                code: 'vault.sealed',
                message: 'Vault integration team could not be read (vault.sealed)',
                retryable: true,
              }),
            ],
            warnings: [],
          }
        : {
            domain: call.request.domain,
            workload: call.request.name,
            ok: true,
            references: [
              good,
              plannedRef(`VAULT:${VAULT_ID}:team`, 'team', { sourceType: 'VAULT', scope: VAULT_ID, version: 7 }),
            ],
            warnings: [
              '${secrets.db_password} resolves to domain analytics’s db_password, which shadows the global key',
            ],
          },
    );
  };
  server.addService(DeployerServiceService, {
    dryRun,
    applyWorkload: unimplemented,
    getWorkload: unimplemented,
    listWorkloads: unimplemented,
    deploy,
    getDeployment,
    getLogs: unimplemented,
  });
  // The fake services speak TLS with a certificate of their own CA, which the connection file names.
  const tls = await fakeServerTls(home);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', tls.credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  const credentialsFile = path.join(home, 'credentials.json');
  await writeFile(credentialsFile, JSON.stringify(creds));
  // The CLI's identity, as latchkey login stores it.
  await writeIdentityFile(home, {
    user: 'admin',
    groups: [],
    token: creds.admin,
    expiresAt: '2999-01-01T00:00:00.000Z',
  });
  const addr = `127.0.0.1:${port}`;
  await writeConnectionFile(home, {
    catalog: addr,
    ras: addr,
    resolver: addr,
    deployer: addr,
    credentialsFile,
    natsUrl: '',
    caFile: tls.caFile,
    insecure: false,
    pid: process.pid,
  });
});

after(() => server.forceShutdown());

test('secret put sends stdin minus one newline with the admin token, and never prints the value', async () => {
  const io = fakeIo({ stdin: 'p@ss word\n', env: { LATCHKEY_HOME: home } });
  assert.equal(
    await main(['secret', 'put', 'DB_PASSWORD', '--domain', 'analytics', '--description', 'main db'], io),
    0,
  );
  const put = seen.puts.at(-1);
  assert.equal(Buffer.from(put?.value ?? []).toString(), 'p@ss word');
  assert.deepEqual(put?.scope, { domain: 'analytics', global: false });
  assert.equal(put?.description, 'main db');
  assert.equal(seen.auth.at(-1), `Bearer ${creds.admin}`);
  assert.deepEqual(io.stdoutLines, ['DB_PASSWORD version 3 in domain analytics']);
});

test('secret put sends no rotation policy unless --rotate-every is given (the secret keeps its own)', async () => {
  const io = fakeIo({ stdin: 'some-value', env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['secret', 'put', 'K', '--domain', 'analytics'], io), 0);
  assert.equal(seen.puts.at(-1)?.rotateEvery, undefined);
});

test('secret put --rotate-every sends the policy and prints it; never removes it', async () => {
  const io = fakeIo({ stdin: 'some-value', env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['secret', 'put', 'K', '--domain', 'analytics', '--rotate-every', '90d'], io), 0);
  assert.equal(seen.puts.at(-1)?.rotateEvery, '90d');
  assert.deepEqual(io.stdoutLines, ['K version 3 in domain analytics, rotate every 90d']);
  const never = fakeIo({ stdin: 'some-value', env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['secret', 'put', 'K', '--domain', 'analytics', '--rotate-every', 'never'], never), 0);
  assert.equal(seen.puts.at(-1)?.rotateEvery, 'never');
  assert.deepEqual(never.stdoutLines, ['K version 3 in domain analytics']);
});

test('secret put refuses a malformed --rotate-every before reading the value', async () => {
  const before = seen.puts.length;
  const io = fakeIo({ stdin: 'some-value', env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['secret', 'put', 'K', '--domain', 'analytics', '--rotate-every', '3 months'], io), 2);
  assert.match(io.stderrLines.join('\n'), /--rotate-every "3 months" is not a rotation period: use <N>d or <N>h/);
  assert.equal(seen.puts.length, before, 'nothing was sent');
});

test('LATCHKEY_TOKEN overrides the admin token; --json prints metadata only', async () => {
  const io = fakeIo({ stdin: 'v', env: { LATCHKEY_HOME: home, LATCHKEY_TOKEN: 'alice-token' } });
  assert.equal(await main(['secret', 'put', 'G', '--global', '--json'], io), 0);
  assert.equal(seen.auth.at(-1), 'Bearer alice-token');
  const json = JSON.parse(io.stdoutLines.join('\n')) as Record<string, unknown>;
  assert.equal(json['key'], 'G');
  assert.equal(json['version'], 3);
  assert.equal('value' in json, false);
});

test('a service error is printed as message and code, exit 1', async () => {
  const io = fakeIo({ stdin: 'v', env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['secret', 'put', 'BAD', '--global'], io), 1);
  assert.deepEqual(io.stderrLines, ['latchkey: key BAD is reserved (secret.invalid_key)']);
});

test('deploy --wait polls until deployed and prints the versions received', async () => {
  const io = fakeIo({ env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['deploy', 'job', '--domain', 'analytics', '--wait'], io), 0);
  const out = io.stdoutLines.join('\n');
  assert.match(out, /deployment d-1 deployed/);
  assert.match(out, /DB_PASSWORD\s+MANAGED\s+analytics\s+3/);
});

test('deploy --wait exits 1 on failure and prints every reason', async () => {
  const io = fakeIo({ env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['deploy', 'broken', '--domain', 'analytics', '--wait'], io), 1);
  assert.match(
    io.stdoutLines.join('\n'),
    /deployment d-2 failed\n {2}reason: DB_PASSWORD: not found in domain analytics/,
  );
});

test('deploy --wait says what it waits for while a backend is unavailable, once per change', async () => {
  const io = fakeIo({ env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['deploy', 'waits', '--domain', 'analytics', '--wait'], io), 0);
  assert.deepEqual(io.stdoutLines, [
    'deployment d-3 pending; waiting...',
    'deployment d-3 resolving',
    ...WAITING.map((r) => `  reason: ${r}`),
    'deployment d-3 deployed',
    '  warning: resolved on attempt 2 of 6, after waiting for an unavailable backend',
  ]);
});

test('deploy --dry-run prints per reference the source, scope and version a deployment would use', async () => {
  const io = fakeIo({ env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['deploy', 'job', '--domain', 'analytics', '--dry-run'], io), 0);
  assert.equal(
    io.stdoutLines[0],
    'dry run of job in domain analytics: 2 reference(s) would resolve; nothing was deployed',
  );
  assert.match(io.stdoutLines[1] ?? '', /^ {2}REFERENCE\s+SOURCE\s+SCOPE\s+VERSION\s+OUTCOME$/);
  assert.match(
    io.stdoutLines[2] ?? '',
    /^ {2}\$\{secrets\.db_password\}\s+MANAGED\s+analytics\s+3\s+ok \(shadows global\)$/,
  );
  assert.match(io.stdoutLines[3] ?? '', new RegExp(`^ {2}team\\s+VAULT\\s+${VAULT_ID}\\s+7\\s+ok$`));
  assert.match(io.stdoutLines[4] ?? '', /^warning: .*shadows the global key$/);
  assert.equal(io.stdoutLines.length, 5);

  const json = fakeIo({ env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['deploy', 'job', '--domain', 'analytics', '--dry-run', '--json'], json), 0);
  const plan = JSON.parse(json.stdoutLines.join('\n')) as {
    ok: boolean;
    references: { scope: string; version: number }[];
  };
  assert.equal(plan.ok, true);
  assert.deepEqual(
    plan.references.map((r) => [r.scope, r.version]),
    [
      ['analytics', 3],
      [VAULT_ID, 7],
    ],
  );
});

test('deploy --dry-run exits 1 naming every reference that would fail, and whether it would be retried', async () => {
  const io = fakeIo({ env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['deploy', 'broken', '--domain', 'analytics', '--dry-run'], io), 1);
  const out = io.stdoutLines.join('\n');
  assert.match(out, /^dry run of broken in domain analytics: 2 of 3 reference\(s\) would fail; nothing was deployed/);
  assert.match(out, /absent\s+MANAGED\s+-\s+-\s+secret\.not_found: secret absent not found in domain analytics/);
  assert.match(out, /team\s+VAULT\s+-\s+-\s+vault\.sealed \(would be retried\): Vault integration team/);
  assert.deepEqual(io.stderrLines, ['latchkey: a deployment of broken would fail now; nothing was deployed']);
});

test('--dry-run with --wait is a usage error', async () => {
  const io = fakeIo({ env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['deploy', 'job', '--domain', 'analytics', '--dry-run', '--wait'], io), 2);
  assert.match(io.stderrLines.join('\n'), /--dry-run deploys nothing, so there is nothing to --wait for/);
});

test('deploy without --wait prints the id and status at once', async () => {
  const io = fakeIo({ env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['deploy', 'job', '--domain', 'analytics'], io), 0);
  assert.deepEqual(io.stdoutLines, ['deployment d-1 pending']);
});

test('an unreachable service is named with its address', async () => {
  const dead = await mkdtemp(path.join(tmpdir(), 'latchkey-dead-'));
  const credentialsFile = path.join(dead, 'credentials.json');
  await writeFile(credentialsFile, JSON.stringify(creds));
  // The CLI's identity, as latchkey login stores it.
  await writeIdentityFile(dead, {
    user: 'admin',
    groups: [],
    token: creds.admin,
    expiresAt: '2999-01-01T00:00:00.000Z',
  });
  const addr = '127.0.0.1:1';
  await writeConnectionFile(dead, {
    catalog: addr,
    ras: addr,
    resolver: addr,
    deployer: addr,
    credentialsFile,
    natsUrl: '',
    caFile: (await fakeServerTls(dead)).caFile,
    insecure: false,
    pid: 1,
  });
  const io = fakeIo({ env: { LATCHKEY_HOME: dead } });
  assert.equal(await main(['workload', 'list', '--domain', 'a'], io), 1);
  assert.match(io.stderrLines[0] ?? '', /^latchkey: cannot reach deployer at 127\.0\.0\.1:1 .*\(grpc\.unavailable\)$/);
  const status = fakeIo({ env: { LATCHKEY_HOME: dead } });
  assert.equal(await main(['status'], status), 1);
  assert.match(status.stdoutLines[1] ?? '', /^catalog\s+127\.0\.0\.1:1\s+down$/);
});
