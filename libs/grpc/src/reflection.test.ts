import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { ensureLocalTls, localTlsFiles } from '@latchkey/crypto';
import { silentLogger } from '@latchkey/logger';
import {
  CatalogInternalService,
  fileDescriptorSet,
  RasServiceService,
  type CatalogInternalServer,
  type RasServiceServer,
} from '@latchkey/proto';
import { reflectionClient, type ReflectionClient } from '@latchkey/testing';
import { staticAuthenticator } from './call-context.js';
import { channelCredentials, checkHealth } from './client.js';
import { createServer, type Handlers, type LatchkeyServer } from './server.js';
import { readServiceTls, type ClientTls } from './tls.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const TOKENS = { admin: 'admin-token-1', services: {} };

let dir = '';
let server: LatchkeyServer;
let address = '';
let ca: Buffer;
let resolverTls: ClientTls;
const clients: ReflectionClient[] = [];

const handlersOf = <S>(definition: object): Handlers<S> =>
  Object.fromEntries(
    Object.keys(definition).map((n) => [n, () => Promise.reject(new Error('not used'))]),
  ) as unknown as Handlers<S>;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'latchkey-reflection-'));
  const files = localTlsFiles(path.join(dir, 'home'), ['catalog', 'resolver']);
  await ensureLocalTls(files);
  ca = await readFile(files.caCertFile);
  resolverTls = {
    ca,
    cert: await readFile(files.services['resolver']?.certFile ?? ''),
    key: await readFile(files.services['resolver']?.keyFile ?? ''),
  };
  const tls = await readServiceTls({
    LATCHKEY_INSECURE: false,
    LATCHKEY_TLS_CERT_FILE: files.services['catalog']?.certFile,
    LATCHKEY_TLS_KEY_FILE: files.services['catalog']?.keyFile,
    LATCHKEY_TLS_CA_FILE: files.caCertFile,
  });
  server = createServer({ service: 'test', logger: silentLogger, authenticate: staticAuthenticator(TOKENS), tls });
  server.addService<RasServiceServer>(RasServiceService, handlersOf<RasServiceServer>(RasServiceService));
  server.addService<CatalogInternalServer>(
    CatalogInternalService,
    handlersOf<CatalogInternalServer>(CatalogInternalService),
    { allow: (p) => p.id === 'service:resolver' },
  );
  const started = Date.now();
  address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  // Reflection is built at listen (the descriptors decoded, the reflection protos loaded): keep it cheap.
  assert.ok(Date.now() - started < 5000, `listen took ${Date.now() - started} ms`);
  server.setServing(true);
});

after(async () => {
  for (const c of clients) c.close();
  await server.shutdown();
  await rm(dir, { recursive: true, force: true });
});

function client(tls: ClientTls, headers: Record<string, string> = {}): ReflectionClient {
  const c = reflectionClient(address, channelCredentials(tls, '127.0.0.1'), headers, {
    'grpc.ssl_target_name_override': 'latchkey-ip-target.invalid',
  });
  clients.push(c);
  return c;
}

const refusedAs = (code: number, details: RegExp) => (e: { code?: number; details?: string }) =>
  e.code === code && details.test(e.details ?? '');

test('reflection lists exactly the services the server has, to a caller with a token or a service certificate', async () => {
  const want = ['grpc.health.v1.Health', 'latchkey.v1.CatalogInternal', 'latchkey.v1.RasService'];
  assert.deepEqual(await client({ ca }, { authorization: `Bearer ${TOKENS.admin}` }).listServices(), want);
  assert.deepEqual(await client(resolverTls).listServices(), want);
  const files = await client(resolverTls).fileContainingSymbol('latchkey.v1.RasService');
  assert.ok(
    files.some((f) => f.toString('latin1').includes('latchkey/v1/ras.proto')),
    'the file that declares it, by its name in proto/',
  );
});

test('a caller without a certificate or a valid token reaches no reflection; health answers as before', async () => {
  await assert.rejects(client({ ca }).listServices(), refusedAs(status.UNAUTHENTICATED, /no credentials/));
  await assert.rejects(
    client({ ca }, { authorization: 'Bearer not-a-token' }).fileContainingSymbol('latchkey.v1.RasService'),
    refusedAs(status.UNAUTHENTICATED, /bearer token is not valid/),
  );
  assert.equal(await checkHealth(address, 5000, { ca }), true);
});

test('the descriptors reflection serves are those of proto/ now (after a .proto change: npm run gen:proto)', () => {
  const built = execFileSync(
    path.join(REPO, 'node_modules/.bin/buf'),
    ['build', path.join(REPO, 'proto'), '--as-file-descriptor-set', '-o', '-'],
    { cwd: REPO, maxBuffer: 64 * 1024 * 1024 },
  );
  assert.ok(
    Buffer.from(fileDescriptorSet()).equals(built),
    'libs/proto/src/gen/descriptor-set.generated.ts is current',
  );
});
