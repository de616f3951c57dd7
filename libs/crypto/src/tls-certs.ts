import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as X509 from '@peculiar/x509';
import { LatchkeyError } from '@latchkey/errors';

let x509Loaded: Promise<typeof X509> | undefined;
/**
 * @peculiar/x509 (with its ASN.1 stack) is loaded only when a certificate is
 * issued: every service and every CLI call imports this library, and reading
 * certificates needs only node:crypto, while loading it costs each process
 * about 0.4 s of CPU.
 */
function loadX509(): Promise<typeof X509> {
  return (x509Loaded ??= import('@peculiar/x509').then((x509) => {
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    return x509;
  }));
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** A service certificate is issued again when it has less than this left. */
const RENEW_BEFORE_MS = 30 * DAY_MS;

/** Where embedded mode keeps its CA and the certificate of each service. */
export interface LocalTlsFiles {
  caCertFile: string;
  caKeyFile: string;
  /**
   * Per service: its certificate (CN = the service name) and private key;
   * `serverOnly`: good for serving only (no clientAuth), so that it can never
   * call a service as a principal (nats-server's).
   */
  services: Record<string, { certFile: string; keyFile: string; serverOnly?: boolean }>;
}

export function localTlsFiles(
  home: string,
  services: readonly string[],
  opts: { serverOnly?: readonly string[] } = {},
): LocalTlsFiles {
  const dir = path.join(home, 'tls');
  const serverOnly = new Set(opts.serverOnly ?? []);
  return {
    caCertFile: path.join(dir, 'ca.crt'),
    caKeyFile: path.join(dir, 'ca.key'),
    services: Object.fromEntries(
      [...services, ...serverOnly].map((s) => [
        s,
        {
          certFile: path.join(dir, `${s}.crt`),
          keyFile: path.join(dir, `${s}.key`),
          ...(serverOnly.has(s) ? { serverOnly: true } : {}),
        },
      ]),
    ),
  };
}

const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

const serial = (): string => {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f; // positive
  return b.toString('hex');
};

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
}

async function importPkcs8(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']) as Promise<CryptoKey>;
}

/** Writes atomically; keys 0600, certificates 0644. */
async function put(file: string, content: string, mode: number): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LatchkeyError('tls.unreadable', `cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
  }
}

interface Ca {
  cert: X509Certificate;
  pem: string;
  key: CryptoKey;
  name: string;
}

async function ensureCa(files: LocalTlsFiles, now: Date): Promise<Ca> {
  const [certPem, keyPem] = [await readOptional(files.caCertFile), await readOptional(files.caKeyFile)];
  if (certPem !== undefined && keyPem !== undefined) {
    const cert = new X509Certificate(certPem);
    if (Date.parse(cert.validTo) > now.getTime() + RENEW_BEFORE_MS) {
      return { cert, pem: certPem, key: await importPkcs8(keyPem), name: cert.subject.replace(/\n/g, ', ') };
    }
  }
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const name = `CN=Latchkey local CA ${randomBytes(4).toString('hex')}`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 3650 * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pem = ca.toString('pem') + '\n';
  await put(files.caKeyFile, await pkcs8Pem(keys.privateKey), 0o600);
  await put(files.caCertFile, pem, 0o644);
  return { cert: new X509Certificate(pem), pem, key: keys.privateKey, name };
}

/** A certificate still good for a while, issued by this CA, for this name. */
function stillGood(pem: string, ca: Ca, service: string, serverOnly: boolean, now: Date): boolean {
  try {
    const cert = new X509Certificate(pem);
    return (
      cert.checkIssued(ca.cert) &&
      cert.verify(ca.cert.publicKey) &&
      cert.subject === `CN=${service}` &&
      (cert.keyUsage ?? []).includes(CLIENT_AUTH_OID) === !serverOnly &&
      Date.parse(cert.validTo) > now.getTime() + RENEW_BEFORE_MS
    );
  } catch {
    return false;
  }
}

/**
 * Embedded mode's mutual TLS material, created once and renewed when close
 * to expiry: a local CA (10 years) and, per service, a certificate (1 year)
 * with CN = the service name and SANs for the service name, localhost and
 * 127.0.0.1, good for serving and for calling (a `serverOnly` one for
 * serving alone). Private keys are 0600.
 */
export async function ensureLocalTls(files: LocalTlsFiles, now = new Date()): Promise<void> {
  const ca = await ensureCa(files, now);
  for (const [service, f] of Object.entries(files.services)) {
    const existing = await readOptional(f.certFile);
    const key = await readOptional(f.keyFile);
    const serverOnly = f.serverOnly === true;
    if (existing !== undefined && key !== undefined && stillGood(existing, ca, service, serverOnly, now)) continue;
    const x509 = await loadX509();
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${service}`,
      issuer: ca.cert.subject.replace(/\n/g, ', '),
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + 365 * DAY_MS),
      publicKey: keys.publicKey,
      signingKey: ca.key,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension(
          serverOnly
            ? [x509.ExtendedKeyUsage.serverAuth]
            : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
        ),
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: service },
          { type: 'dns', value: 'localhost' },
          { type: 'ip', value: '127.0.0.1' },
        ]),
      ],
    });
    await put(f.keyFile, await pkcs8Pem(keys.privateKey), 0o600);
    await put(f.certFile, cert.toString('pem') + '\n', 0o644);
  }
}
