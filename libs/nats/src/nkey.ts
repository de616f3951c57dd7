import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import type { KeyPair } from '@nats-io/jwt';

/**
 * NATS nkeys (ed25519 keys in NATS's printable encoding) on node:crypto.
 *
 * The nkeys libraries that nats.js and @nats-io/jwt bring derive the public
 * key and sign in pure JavaScript (tweetnacl), again on every call: a service
 * start spent about a second there. Here the key is imported once and every
 * signature is OpenSSL's. Ed25519 signatures are deterministic (RFC 8032), so
 * the keys, seeds and signatures are byte for byte those of the nkeys
 * libraries (nkey.test.ts holds them against each other).
 *
 * Encoding (the nkeys format): base32 (RFC 4648 alphabet, no padding) of
 * prefix byte(s) + key + CRC-16/XMODEM of what precedes it, little-endian.
 * A seed carries two prefix bytes: 'S' and the role of its public key.
 */

/** The role bytes of nkeys (a public key's first byte; its first base32 letter names the role). */
export const NKEY_PREFIX = {
  seed: 18 << 3, // 'S'
  private: 15 << 3, // 'P'
  operator: 14 << 3, // 'O'
  server: 13 << 3, // 'N'
  cluster: 2 << 3, // 'C'
  account: 0, // 'A'
  user: 20 << 3, // 'U'
} as const;
export type NkeyRole = 'operator' | 'account' | 'user' | 'server' | 'cluster';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function base32Decode(text: string): Uint8Array | undefined {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return undefined;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function encode(prefix: Uint8Array, payload: Uint8Array): string {
  const raw = new Uint8Array(prefix.length + payload.length + 2);
  raw.set(prefix);
  raw.set(payload, prefix.length);
  const sum = crc16(raw.subarray(0, raw.length - 2));
  raw[raw.length - 2] = sum & 0xff;
  raw[raw.length - 1] = sum >>> 8;
  return base32Encode(raw);
}

/** The bytes of an nkey string whose checksum holds, without the checksum; undefined if it is not one. */
function decode(text: string): Uint8Array | undefined {
  const raw = base32Decode(text);
  // Only the canonical spelling: no letters past the last byte, no set padding bits.
  if (raw === undefined || raw.length < 4 || base32Encode(raw) !== text) return undefined;
  const body = raw.subarray(0, raw.length - 2);
  const sum = raw[raw.length - 2]! | (raw[raw.length - 1]! << 8);
  return crc16(body) === sum ? body : undefined;
}

const ROLE_OF_BYTE = new Map<number, NkeyRole>(
  (['operator', 'account', 'user', 'server', 'cluster'] as const).map((r) => [NKEY_PREFIX[r], r]),
);

// DER framing of a raw 32-byte ed25519 private seed (PKCS#8) and of a public key (SPKI).
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_LENGTH = 44;

class NodeKeyPair implements KeyPair {
  readonly #seed: Uint8Array;
  readonly #raw: Uint8Array;
  #private: KeyObject | undefined;
  readonly #public: KeyObject;
  readonly #publicKey: string;
  readonly #rawPublic: Buffer;

  constructor(seed: string, role: NkeyRole, raw: Uint8Array) {
    this.#seed = new TextEncoder().encode(seed);
    this.#raw = Uint8Array.from(raw);
    this.#private = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, raw]), format: 'der', type: 'pkcs8' });
    this.#public = createPublicKey(this.#private);
    const spki = this.#public.export({ format: 'der', type: 'spki' });
    if (spki.length !== SPKI_ED25519_LENGTH) throw new Error('unexpected ed25519 public key encoding');
    this.#rawPublic = spki.subarray(spki.length - 32);
    this.#publicKey = encode(Uint8Array.of(NKEY_PREFIX[role]), this.#rawPublic);
  }

  #key(): KeyObject {
    if (this.#private === undefined) throw new Error('this nkey pair was cleared');
    return this.#private;
  }

  getPublicKey(): string {
    this.#key();
    return this.#publicKey;
  }

  getSeed(): Uint8Array {
    this.#key();
    return this.#seed;
  }

  /** The nkeys "private key" form ('P' + seed + public key), as the nkeys libraries give it. */
  getPrivateKey(): Uint8Array {
    this.#key();
    return new TextEncoder().encode(
      encode(Uint8Array.of(NKEY_PREFIX.private), Buffer.concat([this.#raw, this.#rawPublic])),
    );
  }

  sign(input: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, input, this.#key()));
  }

  verify(input: Uint8Array, sig: Uint8Array): boolean {
    return verify(null, input, this.#public, sig);
  }

  clear(): void {
    this.#seed.fill(0);
    this.#raw.fill(0);
    this.#private = undefined;
  }

  seal(): Uint8Array {
    throw new Error('an ed25519 nkey cannot seal');
  }

  open(): Uint8Array | null {
    throw new Error('an ed25519 nkey cannot open');
  }
}

function decodeSeed(seed: string): { role: NkeyRole; raw: Uint8Array } | undefined {
  const body = decode(seed);
  if (body === undefined || body.length !== 34) return undefined;
  const kind = body[0]! & 0xf8;
  const roleByte = ((body[0]! & 0x07) << 5) | ((body[1]! & 0xf8) >> 3);
  const role = ROLE_OF_BYTE.get(roleByte);
  if (kind !== NKEY_PREFIX.seed || role === undefined) return undefined;
  return { role, raw: body.subarray(2) };
}

/** The seed and JWT of a NATS credentials file (the line after each BEGIN line); undefined if it holds no pair. */
export function parseCreds(creds: string): { jwt: string; seed: string } | undefined {
  const lines = creds.split(/\r?\n/).map((l) => l.trim());
  const blocks: string[] = [];
  lines.forEach((line, i) => {
    if (/^-{3,}\s*BEGIN [^-]*-{3,}$/.test(line)) {
      const body = lines.slice(i + 1).find((l) => l !== '');
      if (body !== undefined && !body.startsWith('---')) blocks.push(body);
    }
  });
  const [jwt, seed] = blocks;
  return jwt !== undefined && seed !== undefined ? { jwt, seed } : undefined;
}

/**
 * The key pair of an nkey seed (`SU...`, `SA...`, `SO...`); throws a plain
 * Error that does not quote the seed when it is not one.
 */
export function nkeyFromSeed(seed: string): KeyPair {
  const decoded = decodeSeed(seed);
  if (decoded === undefined) throw new Error('not a valid nkey seed');
  return new NodeKeyPair(seed, decoded.role, decoded.raw);
}

/** A new random nkey pair of `role`. */
export function createNkey(role: NkeyRole): KeyPair {
  const raw = randomBytes(32);
  const roleByte = NKEY_PREFIX[role];
  const prefix = Uint8Array.of(NKEY_PREFIX.seed | (roleByte >> 5), (roleByte & 31) << 3);
  return new NodeKeyPair(encode(prefix, raw), role, raw);
}
