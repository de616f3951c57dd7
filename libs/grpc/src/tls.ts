import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { PeerCertificate } from 'node:tls';
import { experimental, ServerCredentials } from '@grpc/grpc-js';
import { z } from '@latchkey/config';
import { LatchkeyError } from '@latchkey/errors';
import type { Principal } from './call-context.js';

/** A service's TLS material: the CA that signs every Latchkey service certificate, and its own. */
export interface ServiceTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** How a client connects: TLS trusting `ca`, presenting `cert`/`key` when given (services). */
export interface ClientTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Transport settings every service spreads into its config schema. Without
 * LATCHKEY_INSECURE=1 all three files are required.
 */
export const TLS_CONFIG = {
  /** This service's certificate (PEM); its CN names the service to the others. */
  LATCHKEY_TLS_CERT_FILE: z.string().optional(),
  LATCHKEY_TLS_KEY_FILE: z.string().optional(),
  /** The CA (PEM, one or more certificates) that issued every service's certificate. */
  LATCHKEY_TLS_CA_FILE: z.string().optional(),
  /** 1: listen and call in plaintext, for local debugging only (a warning is logged at start). */
  LATCHKEY_INSECURE: z
    .enum(['1', '0', 'true', 'false', ''], { error: 'use 1 (plaintext, local debugging only) or 0' })
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
};

export interface TlsConfig {
  LATCHKEY_TLS_CERT_FILE?: string | undefined;
  LATCHKEY_TLS_KEY_FILE?: string | undefined;
  LATCHKEY_TLS_CA_FILE?: string | undefined;
  LATCHKEY_INSECURE: boolean;
}

function tlsError(message: string): LatchkeyError {
  return new LatchkeyError('config.invalid', message, { kind: 'invalid_argument' });
}

async function readPem(file: string, variable: string, what: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    throw tlsError(
      `cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check ${variable}`,
    );
  }
  if (!data.toString('utf8').includes('-----BEGIN ')) throw tlsError(`${file} is not PEM (${variable})`);
  return data;
}

/** The TLS files of the config, read and checked; undefined when LATCHKEY_INSECURE=1. */
export async function readServiceTls(config: TlsConfig): Promise<ServiceTls | undefined> {
  if (config.LATCHKEY_INSECURE) return undefined;
  const missing = (['LATCHKEY_TLS_CERT_FILE', 'LATCHKEY_TLS_KEY_FILE', 'LATCHKEY_TLS_CA_FILE'] as const).filter(
    (v) => !config[v],
  );
  if (missing.length > 0) {
    throw tlsError(
      `required: ${missing.join(', ')} (this service's certificate and key, and the CA of the services' certificates); or LATCHKEY_INSECURE=1 to run in plaintext for local debugging`,
    );
  }
  const tls = {
    cert: await readPem(config.LATCHKEY_TLS_CERT_FILE ?? '', 'LATCHKEY_TLS_CERT_FILE', 'the certificate'),
    key: await readPem(config.LATCHKEY_TLS_KEY_FILE ?? '', 'LATCHKEY_TLS_KEY_FILE', 'the private key'),
    ca: await readPem(config.LATCHKEY_TLS_CA_FILE ?? '', 'LATCHKEY_TLS_CA_FILE', 'the CA certificate'),
  };
  const cas = caCertificates(tls.ca);
  const own = new X509Certificate(tls.cert);
  if (!cas.some((ca) => own.checkIssued(ca) && own.verify(ca.publicKey))) {
    throw tlsError(
      `the certificate ${config.LATCHKEY_TLS_CERT_FILE ?? ''} is not issued by the CA in ${config.LATCHKEY_TLS_CA_FILE ?? ''}: the other services would refuse it`,
    );
  }
  return tls;
}

/** Every certificate of a PEM bundle. */
export function caCertificates(pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw tlsError('the CA file holds no certificate');
  return blocks.map((b) => new X509Certificate(b));
}

/**
 * A CertificateProvider that always answers the same material. It answers
 * on the next tick: grpc-js subscribes to its providers before it registers
 * the watcher that applies their answer, so an answer given synchronously
 * would be lost (and every connection dropped).
 */
function fixedProvider(update: { ca?: Buffer; cert?: Buffer; key?: Buffer }): experimental.CertificateProvider {
  return {
    addCaCertificateListener: (l) => queueMicrotask(() => l(update.ca ? { caCertificate: update.ca } : null)),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (l) =>
      queueMicrotask(() => l(update.cert && update.key ? { certificate: update.cert, privateKey: update.key } : null)),
    removeIdentityCertificateListener: () => undefined,
  };
}

/**
 * Server credentials that ask for a client certificate without requiring
 * one: services present theirs (verified against the CA per call, see
 * servicePrincipalOf), people come with a bearer token only.
 */
export function serverCredentials(tls: ServiceTls | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  // One provider answers both the CA and the identity: grpc-js 1.14 takes
  // the two in the opposite order to the one its typings name.
  const provider = fixedProvider({ ca: tls.ca, cert: tls.cert, key: tls.key });
  return experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * The service a client certificate names (its CN), once the certificate is
 * checked to be issued by one of `cas`, valid now and meant for client
 * authentication. The TLS handshake has proven the peer holds its key.
 * Throws an `auth.unauthenticated` LatchkeyError saying what is wrong.
 */
export function servicePrincipalOf(
  peer: PeerCertificate,
  cas: readonly X509Certificate[],
  now = new Date(),
): Principal {
  const refused = (why: string) =>
    new LatchkeyError('auth.unauthenticated', `the client certificate is refused: ${why}`, { kind: 'unauthenticated' });
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(peer.raw);
  } catch {
    throw refused('it cannot be parsed');
  }
  if (!cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
    throw refused("it is not issued by this installation's CA");
  }
  if (Date.parse(cert.validFrom) > now.getTime() || Date.parse(cert.validTo) < now.getTime()) {
    throw refused(`it is not valid now (valid ${cert.validFrom} to ${cert.validTo})`);
  }
  if (cert.keyUsage !== undefined && !cert.keyUsage.includes(CLIENT_AUTH)) {
    throw refused('it is not meant for client authentication (no clientAuth extended key usage)');
  }
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
  if (cn === undefined || !SERVICE_NAME.test(cn)) {
    throw refused('its common name (CN) is not a Latchkey service name');
  }
  return { id: `service:${cn}`, kind: 'service', groups: [] };
}

/**
 * servicePrincipalOf with its verdict kept per certificate (by its DER bytes),
 * so that the calls of one connection do not parse and verify the same
 * certificate again and again (it was a tenth of ras's and the catalog's CPU
 * under load). The CA set is fixed for the server's life; the validity window
 * is checked again on every call; refusals are not kept, and at most `max`
 * certificates are (the map is emptied when full).
 */
export function servicePrincipals(
  cas: readonly X509Certificate[],
  max = 256,
): (peer: PeerCertificate, now?: Date) => Principal {
  const known = new Map<string, { principal: Principal; from: number; to: number }>();
  return (peer, now = new Date()) => {
    const der = Buffer.isBuffer(peer.raw) ? peer.raw.toString('base64') : undefined;
    const hit = der === undefined ? undefined : known.get(der);
    const t = now.getTime();
    if (hit && hit.from <= t && t <= hit.to) return hit.principal;
    const principal = servicePrincipalOf(peer, cas, now);
    if (der !== undefined) {
      const cert = new X509Certificate(peer.raw);
      if (known.size >= max) known.clear();
      known.set(der, { principal, from: Date.parse(cert.validFrom), to: Date.parse(cert.validTo) });
    }
    return principal;
  };
}

/** How a service serves and calls: its TLS material, or (insecure) the shared tokens. */
export interface ServiceTransport {
  /** Undefined in insecure mode: plaintext. */
  tls: ServiceTls | undefined;
  /** What this service presents when it calls another: its certificate, or (insecure) its token. */
  client: { token?: string; tls?: ClientTls };
  /** Insecure mode only: the services' shared tokens, which the servers then accept. */
  serviceTokens: Record<string, string> | undefined;
}

/**
 * Reads what `service` needs to serve and to call the others. With TLS (the
 * default) nothing but certificates names a service. With LATCHKEY_INSECURE=1
 * services name themselves by the shared tokens of LATCHKEY_CREDENTIALS_FILE.
 */
export async function loadServiceTransport(
  service: string,
  config: TlsConfig & { LATCHKEY_CREDENTIALS_FILE?: string | undefined },
  readTokens: (file: string) => Promise<{ services: Record<string, string> }>,
): Promise<ServiceTransport> {
  const tls = await readServiceTls(config);
  if (tls) return { tls, client: { tls }, serviceTokens: undefined };
  const file = config.LATCHKEY_CREDENTIALS_FILE;
  if (!file) {
    throw tlsError(
      "LATCHKEY_INSECURE=1 needs LATCHKEY_CREDENTIALS_FILE (the services' shared tokens): or configure LATCHKEY_TLS_CERT_FILE, LATCHKEY_TLS_KEY_FILE and LATCHKEY_TLS_CA_FILE",
    );
  }
  const tokens = (await readTokens(file)).services;
  const token = tokens[service];
  if (!token) throw tlsError(`the credentials file ${file} has no token for the ${service} service`);
  return { tls: undefined, client: { token }, serviceTokens: tokens };
}
