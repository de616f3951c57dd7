// Creates the shared key material of a scaled deployment in /keys, once:
// the key-encryption key, the deployers' sealing key pair, and the service
// tokens. In production, mount these from your secret manager instead.
import { randomBytes } from 'node:crypto';
import { writeFile, stat } from 'node:fs/promises';
import { ensureKekFile, ensureSealKeyFiles } from '@latchkey/crypto';

const dir = process.argv[2] ?? '/keys';
await ensureKekFile(`${dir}/kek.json`);
await ensureSealKeyFiles(`${dir}/deployer-seal.key`, `${dir}/deployer-seal.pub`);
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
