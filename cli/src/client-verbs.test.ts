import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  CatalogServiceService,
  DeployerServiceService,
  type Deployment,
  type PutSecretRequest,
  type SecretMetadata,
} from '@latchkey/proto';
import { writeConnectionFile } from './connection-file.js';
import { generateCredentials } from './credentials-file.js';
import { fakeIo } from './fake-io.js';
import { main } from './main.js';

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
    });
  };
  server.addService(CatalogServiceService, { putSecret, listSecrets: unimplemented, deleteSecret: unimplemented });
  const deploy: Unary<{ name: string }, Deployment> = (call, cb) => {
    polls = 0;
    cb(
      null,
      deployment('pending', { workload: call.request.name, id: call.request.name === 'broken' ? 'd-2' : 'd-1' }),
    );
  };
  const getDeployment: Unary<{ id: string }, Deployment> = (call, cb) => {
    polls++;
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
  server.addService(DeployerServiceService, {
    applyWorkload: unimplemented,
    getWorkload: unimplemented,
    listWorkloads: unimplemented,
    deploy,
    getDeployment,
    getLogs: unimplemented,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const credentialsFile = path.join(home, 'credentials.json');
  await writeFile(credentialsFile, JSON.stringify(creds));
  const addr = `127.0.0.1:${port}`;
  await writeConnectionFile(home, {
    catalog: addr,
    ras: addr,
    resolver: addr,
    deployer: addr,
    credentialsFile,
    natsUrl: '',
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
  assert.match(out, /DB_PASSWORD\s+analytics\s+3/);
});

test('deploy --wait exits 1 on failure and prints every reason', async () => {
  const io = fakeIo({ env: { LATCHKEY_HOME: home } });
  assert.equal(await main(['deploy', 'broken', '--domain', 'analytics', '--wait'], io), 1);
  assert.match(
    io.stdoutLines.join('\n'),
    /deployment d-2 failed\n {2}reason: DB_PASSWORD: not found in domain analytics/,
  );
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
  const addr = '127.0.0.1:1';
  await writeConnectionFile(dead, {
    catalog: addr,
    ras: addr,
    resolver: addr,
    deployer: addr,
    credentialsFile,
    natsUrl: '',
    pid: 1,
  });
  const io = fakeIo({ env: { LATCHKEY_HOME: dead } });
  assert.equal(await main(['workload', 'list', '--domain', 'a'], io), 1);
  assert.match(io.stderrLines[0] ?? '', /^latchkey: cannot reach deployer at 127\.0\.0\.1:1 .*\(grpc\.unavailable\)$/);
  const status = fakeIo({ env: { LATCHKEY_HOME: dead } });
  assert.equal(await main(['status'], status), 1);
  assert.match(status.stdoutLines[1] ?? '', /^catalog\s+127\.0\.0\.1:1\s+down$/);
});
