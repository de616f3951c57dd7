// Creates the shared key material of a scaled deployment in /keys, once:
// the key-encryption key, the deployers' sealing and signing key pairs, a CA with one
// certificate per service (mutual TLS; CN and DNS name = the service name), the
// gateway's serving certificate (CN gateway, serving only: it calls as each request's
// caller) and its runtime client certificate (CN gateway-runtime: the deployer's
// runtime reads admit it alone), the gateways' shared console session key,
// a token issuer key with its JWKS (for a setup without your own OIDC
// issuer), the services' shared tokens (used only with LATCHKEY_INSECURE=1),
// and the bus: NATS decentralized auth (operator, account, signing keys in
// /keys/bus/trust.json), each service's NATS credentials minted from the one
// bus permission table (/keys/bus/<service>.creds), ras's subscriber signing
// key, and nats-server's configuration and TLS certificate, which go to their
// own folder (second argument, /nats-keys) so that nats-server mounts nothing else.
// In production, mount these from your secret manager and PKI instead.
import { randomBytes } from 'node:crypto';
import { chmod, chown, copyFile, mkdir, readdir, rm, writeFile, stat } from 'node:fs/promises';
import {
  ensureKekFile,
  ensureLocalTls,
  ensureSealKeyFiles,
  ensureSigningKeyFiles,
  localTlsFiles,
} from '@latchkey/crypto';
import { ensureBusKeys, NATS_SERVER_CERT } from '@latchkey/events';
import { ensureLocalIssuer } from '@latchkey/grpc';

const dir = process.argv[2] ?? '/keys';
const natsDir = process.argv[3] ?? '/nats-keys';
await ensureKekFile(`${dir}/kek.json`);
await ensureSealKeyFiles(`${dir}/deployer-seal.key`, `${dir}/deployer-seal.pub`);
// The deployers sign deploying events and plan requests with it; resolvers get the public half.
await ensureSigningKeyFiles(`${dir}/deployer-sign.key`, `${dir}/deployer-sign.pub`);
const creds = `${dir}/credentials.json`;
const exists = await stat(creds).then(
  () => true,
  () => false,
);
if (!exists) {
  const token = () => randomBytes(32).toString('base64url');
  const body = { admin: token(), services: { catalog: token(), ras: token(), resolver: token(), deployer: token() } };
  await writeFile(creds, JSON.stringify(body) + '\n', { mode: 0o600, flag: 'wx' });
}
// As `latchkey up` makes them (cli/src/local-state/key-material.ts): the gateway's certificate serves only.
await ensureLocalTls(
  localTlsFiles(dir, ['ras', 'catalog', 'resolver', 'deployer', 'gateway-runtime'], { serverOnly: ['gateway'] }),
);
// The console's session key, shared by every gateway replica (console sign-in; Bearer tokens work without it).
await ensureKekFile(`${dir}/gateway-session.key`);
// nats-server's certificate (CN and DNS name nats-server: the compose network alias), issued by the same CA;
// its key is moved to natsDir, where only nats-server reads it.
const natsTmp = `${dir}/nats-tls`;
const natsTls = localTlsFiles(natsTmp, [], { serverOnly: [NATS_SERVER_CERT] });
await ensureLocalTls({ ...natsTls, caCertFile: `${dir}/tls/ca.crt`, caKeyFile: `${dir}/tls/ca.key` });
await mkdir(natsDir, { recursive: true, mode: 0o700 });
const natsCert = natsTls.services[NATS_SERVER_CERT];
await copyFile(natsCert.certFile, `${natsDir}/nats-server.crt`);
await copyFile(natsCert.keyFile, `${natsDir}/nats-server.key`);
await rm(natsTmp, { recursive: true, force: true });
const bus = await ensureBusKeys(`${dir}/bus`, {
  certFile: `${natsDir}/nats-server.crt`,
  keyFile: `${natsDir}/nats-server.key`,
});
await copyFile(bus.serverConfigFile, `${natsDir}/nats-server.conf`);
await rm(bus.serverConfigFile);
for (const f of await readdir(natsDir)) await chmod(`${natsDir}/${f}`, f.endsWith('.crt') ? 0o644 : 0o600);
await ensureLocalIssuer({ signingKeyFile: `${dir}/oidc-signing-key.json`, jwksFile: `${dir}/oidc-jwks.json` });
// The services run as the image's `node` user (uid 1000): the private files are its, still 0600.
// Only root can give them away (compose runs this as root); run by anyone else, they stay the runner's.
if (process.getuid?.() === 0) {
  for (const sub of ['', '/tls', '/bus']) {
    await chown(`${dir}${sub}`, 1000, 1000);
    for (const f of await readdir(`${dir}${sub}`, { withFileTypes: true })) {
      if (f.isFile()) await chown(`${dir}${sub}/${f.name}`, 1000, 1000);
    }
  }
}
