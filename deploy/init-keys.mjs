// Creates the shared key material of a scaled deployment in /keys, once:
// the key-encryption key, the deployers' sealing and signing key pairs, a CA with one
// certificate per service (mutual TLS; CN and DNS name = the service name),
// a token issuer key with its JWKS (for a setup without your own OIDC
// issuer), and the services' shared tokens (used only with LATCHKEY_INSECURE=1).
// In production, mount these from your secret manager and PKI instead.
import { randomBytes } from 'node:crypto';
import { chown, readdir, writeFile, stat } from 'node:fs/promises';
import {
  ensureKekFile,
  ensureLocalTls,
  ensureSealKeyFiles,
  ensureSigningKeyFiles,
  localTlsFiles,
} from '@latchkey/crypto';
import { ensureLocalIssuer } from '@latchkey/grpc';

const dir = process.argv[2] ?? '/keys';
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
await ensureLocalTls(localTlsFiles(dir, ['ras', 'catalog', 'resolver', 'deployer']));
await ensureLocalIssuer({ signingKeyFile: `${dir}/oidc-signing-key.json`, jwksFile: `${dir}/oidc-jwks.json` });
// The services run as the image's `node` user (uid 1000): the private files are its, still 0600.
for (const sub of ['', '/tls']) {
  await chown(`${dir}${sub}`, 1000, 1000);
  for (const f of await readdir(`${dir}${sub}`, { withFileTypes: true })) {
    if (f.isFile()) await chown(`${dir}${sub}/${f.name}`, 1000, 1000);
  }
}
