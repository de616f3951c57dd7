import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  ensureKekFile,
  ensureSealKeyFiles,
  ensureSigningKeyFiles,
  readKekRing,
  readSealKeyFile,
  readSigningKeyFile,
  readSigningPublicKeyFiles,
} from './key-files.js';

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-key-files-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

test('each key is created once, its private file 0600 (in a new 0700 folder), its public one 0644, and read back the same', async (t) => {
  const dir = await folder(t);
  const kek = await ensureKekFile(join(dir, 'keys', 'kek.json'));
  assert.equal(await mode(join(dir, 'keys')), 0o700);
  assert.equal(await mode(join(dir, 'keys', 'kek.json')), 0o600);
  assert.deepEqual(await ensureKekFile(join(dir, 'keys', 'kek.json')), kek);
  assert.deepEqual((await readKekRing(join(dir, 'keys', 'kek.json'))).current, kek);

  const seal = await ensureSealKeyFiles(join(dir, 'seal.key'), join(dir, 'seal.pub'));
  assert.equal(await mode(join(dir, 'seal.key')), 0o600);
  assert.equal(await mode(join(dir, 'seal.pub')), 0o644);
  assert.equal((await ensureSealKeyFiles(join(dir, 'seal.key'), join(dir, 'seal.pub'))).kid, seal.kid);
  assert.equal((await readSealKeyFile(join(dir, 'seal.key'))).kid, seal.kid);

  const signing = await ensureSigningKeyFiles(join(dir, 'sign.key'), join(dir, 'sign.pub'));
  assert.equal(await mode(join(dir, 'sign.key')), 0o600);
  assert.equal(await mode(join(dir, 'sign.pub')), 0o644);
  assert.equal((await readSigningKeyFile(join(dir, 'sign.key'))).kid, signing.kid);
  assert.deepEqual([...(await readSigningPublicKeyFiles([join(dir, 'sign.pub')])).keys()], [signing.kid]);
  // A lost public key file is written again from the private key.
  await rm(join(dir, 'sign.pub'));
  assert.equal((await ensureSigningKeyFiles(join(dir, 'sign.key'), join(dir, 'sign.pub'))).kid, signing.kid);
  assert.deepEqual([...(await readSigningPublicKeyFiles([join(dir, 'sign.pub')])).keys()], [signing.kid]);
});

test('a missing or unparsable key file is refused with its code, naming the file', async (t) => {
  const dir = await folder(t);
  const garbage = join(dir, 'garbage');
  await writeFile(garbage, 'not a key');
  const missing = join(dir, 'missing');
  const refused = async (read: Promise<unknown>, code: string, path: string) =>
    assert.rejects(read, (err: Error & { code?: string }) => {
      assert.equal(err.code, code);
      assert.ok(err.message.includes(path), err.message);
      return true;
    });
  await refused(readKekRing(missing), 'crypto.kek_unreadable', missing);
  await refused(readKekRing(garbage), 'crypto.kek_malformed', garbage);
  await refused(readSealKeyFile(garbage), 'crypto.seal_key_unreadable', garbage);
  await refused(readSigningKeyFile(missing), 'crypto.signing_key_unreadable', missing);
  await refused(readSigningPublicKeyFiles([garbage]), 'crypto.signing_key_unreadable', garbage);
  // A sealing key is not a signing key.
  await ensureSealKeyFiles(join(dir, 'seal.key'), join(dir, 'seal.pub'));
  await refused(readSigningKeyFile(join(dir, 'seal.key')), 'crypto.signing_key_unreadable', 'seal.key');
  assert.match(await readFile(join(dir, 'seal.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
});
