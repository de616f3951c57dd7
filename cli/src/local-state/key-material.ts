import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ensureKekFile,
  ensureLocalTls,
  ensureSealKeyFiles,
  ensureSigningKeyFiles,
  localTlsFiles,
  type LocalTlsFiles,
} from '@latchkey/crypto';
import { busKeyPaths, ensureBusKeys, NATS_SERVER_CERT, type BusKeyPaths } from '@latchkey/events';
import { ensureLocalIssuer, localIssuerFiles } from '@latchkey/grpc/client';
import { CliError } from '../output/cli-errors.js';
import { ensureCredentialsFile, generateToken, SERVICE_NAMES, type CredentialsFile } from './credentials-file.js';

/** Where the launcher keeps its generated keys and tokens inside the data folder. */
export interface KeyMaterialPaths {
  kekFile: string;
  sealPrivateKeyFile: string;
  sealPublicKeyFile: string;
  /** The deployer's Ed25519 key (0600), with which it signs deploying events and plan requests, and its public key for the resolver. */
  signingPrivateKeyFile: string;
  signingPublicKeyFile: string;
  credentialsFile: string;
  /** Insecure mode only: the gateway's own token (it is in no other service's credentials: never a service principal). */
  gatewayCredentialsFile: string;
  postgresPasswordFile: string;
  /** The local OIDC issuer: its private signing key (0600) and the public JWKS the services verify with. */
  oidcSigningKeyFile: string;
  oidcJwksFile: string;
  /** The console: the gateways' session key (AES-256, 0600) and the X25519 key pair login links are sealed to. */
  sessionKeyFile: string;
  loginLinkPrivateKeyFile: string;
  loginLinkPublicKeyFile: string;
  /** Mutual TLS: the local CA and each service's certificate and key (under tls/), and nats-server's. */
  tls: LocalTlsFiles;
  /** NATS auth: nats-server's config and each service's credentials (under bus/). */
  bus: BusKeyPaths;
}

export interface KeyMaterial {
  paths: KeyMaterialPaths;
  credentials: CredentialsFile;
  postgresPassword: string;
}

export function keyMaterialPaths(home: string): KeyMaterialPaths {
  return {
    kekFile: path.join(home, 'kek.json'),
    sealPrivateKeyFile: path.join(home, 'deployer-seal.key'),
    sealPublicKeyFile: path.join(home, 'deployer-seal.pub'),
    signingPrivateKeyFile: path.join(home, 'deployer-sign.key'),
    signingPublicKeyFile: path.join(home, 'deployer-sign.pub'),
    credentialsFile: path.join(home, 'credentials.json'),
    gatewayCredentialsFile: path.join(home, 'gateway-credentials.json'),
    postgresPasswordFile: path.join(home, 'postgres-password'),
    oidcSigningKeyFile: localIssuerFiles(home).signingKeyFile,
    oidcJwksFile: localIssuerFiles(home).jwksFile,
    sessionKeyFile: path.join(home, 'gateway-session.key'),
    loginLinkPrivateKeyFile: path.join(home, 'gateway-login-link.key'),
    loginLinkPublicKeyFile: path.join(home, 'gateway-login-link.pub'),
    // The gateway's certificate serves (gRPC health, HTTPS) but cannot call: it calls as each request's caller.
    // Its runtime certificate calls the deployer's runtime reads, and nothing else admits it.
    tls: localTlsFiles(home, [...SERVICE_NAMES, GATEWAY_RUNTIME_CERT], {
      serverOnly: [NATS_SERVER_CERT, GATEWAY_CERT],
    }),
    bus: busKeyPaths(path.join(home, 'bus')),
  };
}

/** The gateway's certificate (CN gateway; SANs gateway, localhost, 127.0.0.1): for serving only. */
export const GATEWAY_CERT = 'gateway';

/**
 * The gateway's runtime identity (CN gateway-runtime, client and server
 * use): presented only on its calls of the deployer's runtime reads, which
 * admit it alone (a running workload's own token travels in the request).
 */
export const GATEWAY_RUNTIME_CERT = 'gateway-runtime';

/** The gateway's credentials file (insecure mode): a token of its own for its health endpoint, known to no other service. */
async function ensureGatewayCredentials(file: string): Promise<void> {
  const content = JSON.stringify({ admin: '', services: { gateway: generateToken() } }, null, 2) + '\n';
  try {
    await writeFile(file, content, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  await chmod(file, 0o600);
}

async function ensurePostgresPassword(file: string): Promise<string> {
  try {
    await writeFile(file, generateToken() + '\n', { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const password = (await readFile(file, 'utf8')).trim();
  if (password === '') {
    throw new CliError(`${file} is empty: delete the data folder's postgres folder and this file to start afresh`, {
      code: 'cli.postgres_password_empty',
    });
  }
  return password;
}

/**
 * Generates, once, every key and token embedded mode needs and loads them
 * on later starts: the KEK, the deployer's sealing and signing key pairs, the service and
 * admin tokens, the PostgreSQL password, the local token issuer and the
 * local CA with one certificate per service and nats-server's, the bus's
 * NATS credentials, and the console's session and login-link keys. Files holding secrets are 0600.
 */
export async function ensureKeyMaterial(home: string): Promise<KeyMaterial> {
  const paths = keyMaterialPaths(home);
  await ensureKekFile(paths.kekFile);
  await ensureSealKeyFiles(paths.sealPrivateKeyFile, paths.sealPublicKeyFile);
  await ensureSigningKeyFiles(paths.signingPrivateKeyFile, paths.signingPublicKeyFile);
  const credentials = await ensureCredentialsFile(paths.credentialsFile);
  await ensureGatewayCredentials(paths.gatewayCredentialsFile);
  const postgresPassword = await ensurePostgresPassword(paths.postgresPasswordFile);
  await ensureLocalIssuer({ signingKeyFile: paths.oidcSigningKeyFile, jwksFile: paths.oidcJwksFile });
  // The console: sessions sealed with a key every gateway replica shares; login links sealed to the gateways.
  await ensureKekFile(paths.sessionKeyFile);
  await ensureSealKeyFiles(paths.loginLinkPrivateKeyFile, paths.loginLinkPublicKeyFile);
  await ensureLocalTls(paths.tls);
  const natsCert = paths.tls.services[NATS_SERVER_CERT];
  if (natsCert === undefined) throw new CliError('no nats-server certificate', { code: 'cli.internal' });
  await ensureBusKeys(path.join(home, 'bus'), natsCert);
  return { paths, credentials, postgresPassword };
}
