import { readKekRing, readSealKeyFile, type KekRingFile, type SealKeyPair } from '@latchkey/crypto';
import { LatchkeyError } from '@latchkey/errors';

const configError = (message: string): LatchkeyError =>
  new LatchkeyError('config.invalid', message, { kind: 'invalid_argument' });

/**
 * The session key ring (LATCHKEY_SESSION_KEY_FILE): 32-byte AES keys, the
 * same file format as the KEK's (`{"id","key"}` or a ring `{"current","keys"}`),
 * shared by every gateway replica. The current key seals new sessions; the
 * others still open theirs until they are removed (a rotation with overlap).
 */
export async function loadSessionKeys(file: string): Promise<KekRingFile> {
  try {
    return await readKekRing(file);
  } catch {
    throw configError(
      `cannot read the console session key ${file}: LATCHKEY_SESSION_KEY_FILE must name a readable file {"id": "...", "key": "<base64 of 32 random bytes>"} shared by every gateway replica`,
    );
  }
}

/**
 * The login-link keys (LATCHKEY_LOGIN_LINK_KEY_FILE, comma-separated while
 * one is rotated): X25519 private keys (PKCS#8 PEM) to which the CLI seals
 * login links, by key id.
 */
export async function loadLoginLinkKeys(files: readonly string[]): Promise<Map<string, SealKeyPair>> {
  const keys = new Map<string, SealKeyPair>();
  for (const file of files) {
    try {
      const pair = await readSealKeyFile(file);
      keys.set(pair.kid, pair);
    } catch {
      throw configError(
        `cannot read the login-link key ${file}: LATCHKEY_LOGIN_LINK_KEY_FILE must name readable X25519 private keys (PKCS#8 PEM), comma-separated`,
      );
    }
  }
  return keys;
}
