/**
 * Certificates for the Vault emulator's https mode (test-only): one CA that
 * the integration under test is told to trust, the good server certificate
 * it issues for 127.0.0.1 and localhost, and the bad certificates a test can
 * make the emulator present instead:
 * - `untrusted`: right host names, issued by another CA (nobody trusts it);
 * - `wrong-host`: issued by the trusted CA, for `vault.invalid` only;
 * - `expired`: issued by the trusted CA for the right names, expired yesterday.
 */
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

export type BadCertificateKind = 'untrusted' | 'wrong-host' | 'expired';

export interface KeyAndCert {
  key: string;
  cert: string;
}

export interface VaultTlsMaterial {
  /** PEM of the CA to trust. */
  ca: string;
  good: KeyAndCert;
  bad: Record<BadCertificateKind, KeyAndCert>;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const LOOPBACK = [
  { type: 'ip', value: '127.0.0.1' },
  { type: 'dns', value: 'localhost' },
] as const;

let loaded: Promise<typeof X509> | undefined;
/** Loaded only when an https emulator starts (it costs a process about 0.4 s of CPU). */
function loadX509(): Promise<typeof X509> {
  return (loaded ??= import('@peculiar/x509').then((x509) => {
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    return x509;
  }));
}

const serial = (): string => {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString('hex');
};

const newKeys = async () => (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;

async function pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
}

interface Issuer {
  name: string;
  keys: CryptoKeyPair;
  pem: string;
}

async function newCa(x509: typeof X509, label: string): Promise<Issuer> {
  const keys = await newKeys();
  const name = `CN=${label} ${randomBytes(4).toString('hex')}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 2 * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return { name, keys, pem: cert.toString('pem') + '\n' };
}

async function issue(
  x509: typeof X509,
  ca: Issuer,
  names: readonly { type: 'ip' | 'dns'; value: string }[],
  validity: { from: number; to: number } = { from: Date.now() - 60_000, to: Date.now() + DAY_MS },
): Promise<KeyAndCert> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${names[0]?.value ?? 'vault'}`,
    issuer: ca.name,
    notBefore: new Date(validity.from),
    notAfter: new Date(validity.to),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...names]),
    ],
  });
  return { key: await pem(keys.privateKey), cert: cert.toString('pem') + '\n' };
}

/** A fresh CA, its good certificate for the loopback names, and each kind of bad certificate. */
export async function makeVaultTlsMaterial(): Promise<VaultTlsMaterial> {
  const x509 = await loadX509();
  const ca = await newCa(x509, 'Vault emulator test CA');
  const stranger = await newCa(x509, 'Vault emulator untrusted CA');
  return {
    ca: ca.pem,
    good: await issue(x509, ca, LOOPBACK),
    bad: {
      untrusted: await issue(x509, stranger, LOOPBACK),
      'wrong-host': await issue(x509, ca, [{ type: 'dns', value: 'vault.invalid' }]),
      expired: await issue(x509, ca, LOOPBACK, { from: Date.now() - 3 * DAY_MS, to: Date.now() - DAY_MS }),
    },
  };
}
