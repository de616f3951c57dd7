import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { PeerCertificate } from 'node:tls';
import { credentials } from '@grpc/grpc-js';
import { ensureLocalTls, localTlsFiles } from '@latchkey/crypto';
import { LatchkeyError } from '@latchkey/errors';
import { silentLogger } from '@latchkey/logger';
import {
  CatalogInternalClient,
  CatalogInternalService,
  DeployerInternalClient,
  DeployerInternalService,
  RasServiceClient,
  RasServiceService,
  type CatalogInternalServer,
  type DeployerInternalServer,
  type RasServiceServer,
} from '@latchkey/proto';
import { staticAuthenticator, type Principal } from './call-context.js';
import { checkHealth, createClient, unary, type ClientIdentity } from './client.js';
import { createServer, type Handlers, type LatchkeyServer } from './server.js';
import {
  caCertificates,
  readServiceTls,
  servicePrincipalOf,
  servicePrincipals,
  type ClientTls,
  type ServiceTls,
} from './tls.js';

const SERVICES = ['catalog', 'resolver', 'deployer', 'ras'];
const TOKENS = { admin: 'admin-token-1', services: {} };

let dir = '';
let server: LatchkeyServer;
let address = '';
const clients: { close(): void }[] = [];
/** Each service's certificate, and one of a foreign CA. */
const tlsOf: Record<string, ClientTls> = {};
let ca: Buffer;
let foreign: ClientTls;

const reject = (name: string) => () => Promise.reject(new Error(`${name} is not used by this test`));
function handlersOf<S>(definition: object, used: Partial<Handlers<S>>): Handlers<S> {
  return { ...Object.fromEntries(Object.keys(definition).map((n) => [n, reject(n)])), ...used } as Handlers<S>;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'latchkey-tls-'));
  const files = localTlsFiles(path.join(dir, 'home'), SERVICES);
  await ensureLocalTls(files);
  ca = await readFile(files.caCertFile);
  for (const s of SERVICES) {
    const f = files.services[s];
    assert.ok(f);
    tlsOf[s] = { ca, cert: await readFile(f.certFile), key: await readFile(f.keyFile) };
  }
  const other = localTlsFiles(path.join(dir, 'other'), ['resolver']);
  await ensureLocalTls(other);
  foreign = {
    ca: await readFile(other.caCertFile),
    cert: await readFile(other.services['resolver']?.certFile ?? ''),
    key: await readFile(other.services['resolver']?.keyFile ?? ''),
  };

  const catalogTls: ServiceTls | undefined = await readServiceTls({
    LATCHKEY_INSECURE: false,
    LATCHKEY_TLS_CERT_FILE: files.services['catalog']?.certFile,
    LATCHKEY_TLS_KEY_FILE: files.services['catalog']?.keyFile,
    LATCHKEY_TLS_CA_FILE: files.caCertFile,
  });
  assert.ok(catalogTls);
  server = createServer({
    service: 'test',
    logger: silentLogger,
    authenticate: staticAuthenticator(TOKENS),
    tls: catalogTls,
  });
  const who = (p: Principal) => ({ principal: p.id, platformAdmin: p.kind === 'service', groups: [] });
  server.addService<RasServiceServer>(
    RasServiceService,
    handlersOf<RasServiceServer>(RasServiceService, { whoAmI: async (_r, ctx) => who(ctx.principal) }),
  );
  // As in the catalog: values only to the resolver; as in the deployer: its index only to the catalog.
  server.addService<CatalogInternalServer>(
    CatalogInternalService,
    handlersOf<CatalogInternalServer>(CatalogInternalService, { readValues: async () => ({ results: [] }) }),
    { allow: (p) => p.kind === 'service' && p.id === 'service:resolver' },
  );
  server.addService<DeployerInternalServer>(
    DeployerInternalService,
    handlersOf<DeployerInternalServer>(DeployerInternalService, { listDependents: async () => ({ keys: [] }) }),
    { allow: (p) => p.kind === 'service' && p.id === 'service:catalog' },
  );
  address = `127.0.0.1:${await server.listen('127.0.0.1', 0)}`;
  server.setServing(true);
});

after(async () => {
  for (const c of clients) c.close();
  await server.shutdown();
  await rm(dir, { recursive: true, force: true });
});

function catalogInternal(identity: ClientIdentity) {
  const c = createClient(CatalogInternalClient, address, identity);
  clients.push(c);
  return unary(c.readValues.bind(c), { items: [], deploymentId: '' }, 5000);
}
function deployerInternal(identity: ClientIdentity) {
  const c = createClient(DeployerInternalClient, address, identity);
  clients.push(c);
  return unary(c.listDependents.bind(c), { sourceType: 'MANAGED', sourceId: 'a', keys: [] }, 5000);
}
function whoAmI(identity: ClientIdentity) {
  const c = createClient(RasServiceClient, address, identity);
  clients.push(c);
  return unary(c.whoAmI.bind(c), {}, 5000);
}

async function refused(p: Promise<unknown>, kind: string, message?: RegExp): Promise<void> {
  const err = await p.then(
    () => assert.fail(`expected ${kind}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof LatchkeyError, String(err));
  assert.equal(err.kind, kind, err.message);
  if (message) assert.match(err.message, message);
}

test("the resolver's certificate reaches the resolver-only method as service:resolver", async () => {
  assert.deepEqual(await catalogInternal({ tls: tlsOf['resolver'] }), { results: [] });
  assert.equal((await whoAmI({ tls: tlsOf['resolver'] })).principal, 'service:resolver');
});

test('a client without a certificate cannot call the resolver-only method, even with a valid token', async () => {
  await refused(catalogInternal({ token: TOKENS.admin, tls: { ca } }), 'permission_denied', /not available to admin/);
  await refused(catalogInternal({ tls: { ca } }), 'unauthenticated', /no credentials/);
  // The same token is a person over TLS.
  assert.equal((await whoAmI({ token: TOKENS.admin, tls: { ca } })).principal, 'admin');
});

test("a client with the catalog's certificate cannot call CatalogInternal, and can call DeployerInternal", async () => {
  await refused(catalogInternal({ tls: tlsOf['catalog'] }), 'permission_denied', /not available to service:catalog/);
  assert.deepEqual(await deployerInternal({ tls: tlsOf['catalog'] }), { keys: [] });
  await refused(deployerInternal({ tls: tlsOf['resolver'] }), 'permission_denied');
});

test('a certificate from another CA names nobody, whatever its CN says: the call is only what its token is', async () => {
  const stranger = { ca, cert: foreign.cert, key: foreign.key };
  await refused(catalogInternal({ tls: stranger }), 'unauthenticated', /no credentials/);
  await refused(catalogInternal({ token: TOKENS.admin, tls: stranger }), 'permission_denied', /not available to admin/);
  assert.equal((await whoAmI({ token: TOKENS.admin, tls: stranger })).principal, 'admin');
});

test('servicePrincipalOf checks the issuer itself too, and takes the CN as the service', () => {
  const cas = caCertificates(ca);
  const peer = (pem: Buffer | undefined) => ({ raw: new X509Certificate(pem ?? '').raw }) as PeerCertificate;
  assert.deepEqual(servicePrincipalOf(peer(tlsOf['deployer']?.cert), cas), {
    id: 'service:deployer',
    kind: 'service',
    groups: [],
  });
  assert.throws(
    () => servicePrincipalOf(peer(foreign.cert), cas),
    /the client certificate is refused: it is not issued by this installation's CA/,
  );
  assert.throws(
    () => servicePrincipalOf(peer(tlsOf['deployer']?.cert), cas, new Date(Date.now() + 400 * 86_400_000)),
    /it is not valid now/,
  );
});

test('servicePrincipals keeps a verdict per certificate, yet checks validity on every call and keeps no refusal', () => {
  const principalOf = servicePrincipals(caCertificates(ca), 2);
  const peer = (pem: Buffer | undefined) => ({ raw: new X509Certificate(pem ?? '').raw }) as PeerCertificate;
  const deployer = peer(tlsOf['deployer']?.cert);
  assert.deepEqual(principalOf(deployer), { id: 'service:deployer', kind: 'service', groups: [] });
  assert.deepEqual(principalOf(deployer), { id: 'service:deployer', kind: 'service', groups: [] });
  // Known, but past its validity: refused, as the uncached check refuses it.
  assert.throws(() => principalOf(deployer, new Date(Date.now() + 400 * 86_400_000)), /it is not valid now/);
  // A foreign certificate is refused every time, not remembered as anything.
  for (let i = 0; i < 2; i++) {
    assert.throws(() => principalOf(peer(foreign.cert)), /it is not issued by this installation's CA/);
  }
  // More certificates than it keeps: each still gets its own verdict.
  for (const name of ['catalog', 'resolver', 'ras', 'deployer']) {
    assert.equal(principalOf(peer(tlsOf[name]?.cert)).id, `service:${name}`);
  }
});

test("nats-server's certificate, issued by the same CA for serving only, names no service: it cannot call as one", async () => {
  const files = localTlsFiles(path.join(dir, 'home'), [], { serverOnly: ['nats-server'] });
  await ensureLocalTls(files);
  const cert = new X509Certificate(await readFile(files.services['nats-server']?.certFile ?? ''));
  assert.ok(cert.checkIssued(new X509Certificate(ca)), 'issued by the installation CA');
  assert.throws(
    () => servicePrincipalOf({ raw: cert.raw } as PeerCertificate, caCertificates(ca)),
    /it is not meant for client authentication/,
  );
  // A certificate made earlier for calling too is issued again for serving only.
  const both = localTlsFiles(path.join(dir, 'reissue'), ['nats-server']);
  await ensureLocalTls(both);
  await ensureLocalTls({
    ...both,
    services: localTlsFiles(path.join(dir, 'reissue'), [], { serverOnly: ['nats-server'] }).services,
  });
  const reissued = new X509Certificate(await readFile(both.services['nats-server']?.certFile ?? ''));
  assert.deepEqual(reissued.keyUsage, ['1.3.6.1.5.5.7.3.1']);
});

test('a plaintext connection is refused; so is a client that does not trust the CA', async () => {
  const plain = new RasServiceClient(address, credentials.createInsecure());
  clients.push(plain);
  await refused(unary(plain.whoAmI.bind(plain), {}, 3000), 'unavailable');
  await refused(whoAmI({ token: TOKENS.admin, tls: { ca: foreign.ca } }), 'unavailable');
  assert.equal(await checkHealth(address, 3000), false);
  assert.equal(await checkHealth(address, 3000, { ca }), true);
});

test('TLS settings are checked at start with what is wrong', async () => {
  await assert.rejects(
    readServiceTls({ LATCHKEY_INSECURE: false }),
    /required: LATCHKEY_TLS_CERT_FILE, LATCHKEY_TLS_KEY_FILE, LATCHKEY_TLS_CA_FILE .* or LATCHKEY_INSECURE=1/,
  );
  const files = localTlsFiles(path.join(dir, 'home'), ['catalog']);
  await assert.rejects(
    readServiceTls({
      LATCHKEY_INSECURE: false,
      LATCHKEY_TLS_CERT_FILE: files.services['catalog']?.certFile,
      LATCHKEY_TLS_KEY_FILE: files.services['catalog']?.keyFile,
      LATCHKEY_TLS_CA_FILE: path.join(dir, 'other', 'tls', 'ca.crt'),
    }),
    /is not issued by the CA in .*other\/tls\/ca\.crt/,
  );
  await assert.rejects(
    readServiceTls({
      LATCHKEY_INSECURE: false,
      LATCHKEY_TLS_CERT_FILE: path.join(dir, 'nope.crt'),
      LATCHKEY_TLS_KEY_FILE: 'x',
      LATCHKEY_TLS_CA_FILE: 'y',
    }),
    /cannot read the certificate .*nope\.crt \(ENOENT\): check LATCHKEY_TLS_CERT_FILE/,
  );
  assert.equal(await readServiceTls({ LATCHKEY_INSECURE: true }), undefined);
});

test('a server addressed by IP is checked against that IP, without the SNI warning Node gives for an IP', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }) => warnings.push(w.code ?? w.message);
  process.on('warning', onWarning);
  try {
    assert.equal((await whoAmI({ token: TOKENS.admin, tls: { ca } })).principal, 'admin');
    // The same certificate (names: the service, localhost, 127.0.0.1) on another loopback address.
    const elsewhere = createServer({
      service: 'test',
      logger: silentLogger,
      authenticate: staticAuthenticator(TOKENS),
      tls: await readServiceTls({
        LATCHKEY_INSECURE: false,
        LATCHKEY_TLS_CERT_FILE: localTlsFiles(path.join(dir, 'home'), SERVICES).services['catalog']?.certFile,
        LATCHKEY_TLS_KEY_FILE: localTlsFiles(path.join(dir, 'home'), SERVICES).services['catalog']?.keyFile,
        LATCHKEY_TLS_CA_FILE: localTlsFiles(path.join(dir, 'home'), SERVICES).caCertFile,
      }),
    });
    elsewhere.addService<RasServiceServer>(
      RasServiceService,
      handlersOf<RasServiceServer>(RasServiceService, {
        whoAmI: async () => ({ principal: 'x', platformAdmin: false, groups: [] }),
      }),
    );
    const port = await elsewhere.listen('127.0.0.2', 0);
    elsewhere.setServing(true);
    try {
      const c = createClient(RasServiceClient, `127.0.0.2:${port}`, { token: TOKENS.admin, tls: { ca } });
      clients.push(c);
      await refused(unary(c.whoAmI.bind(c), {}, 5000), 'unavailable');
    } finally {
      await elsewhere.shutdown();
    }
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(
    warnings.filter((w) => w === 'DEP0123'),
    [],
  );
});
