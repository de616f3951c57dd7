import { readFile } from 'node:fs/promises';
import { LatchkeyError } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';
import type { Bus } from '@latchkey/nats';
import type { GatewayConfig } from '../config.js';
import { OIDC_CALLBACK_PATH } from '../http/routes/session-routes.js';
import { DeployerRuntimeReads } from '../runtime-reads.js';
import { ConsoleSessions } from '../session/console-sessions.js';
import { natsLinkRedemptions } from '../session/nats-link-redemptions.js';
import { OidcSignIn } from '../session/oidc-sign-in.js';
import { loadLoginLinkKeys, loadSessionKeys } from '../session/session-keys.js';

// The parts of the gateway its config names files for: the HTTPS identity,
// the runtime identity, the console's session keys.

/** A file the config names, or an error naming the variable to check. */
async function read(file: string, variable: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new LatchkeyError(
      'config.invalid',
      `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}): check ${variable}`,
      { kind: 'invalid_argument' },
    );
  }
}

/**
 * The deployer's runtime reads over the gateway's runtime identity (its own
 * client certificate, on a channel of its own); none without that identity
 * or in insecure mode (the routes then say what is missing).
 */
export async function runtimeReads(
  config: GatewayConfig,
  ca: Buffer | undefined,
): Promise<DeployerRuntimeReads | undefined> {
  const certFile = config.LATCHKEY_RUNTIME_TLS_CERT_FILE;
  const keyFile = config.LATCHKEY_RUNTIME_TLS_KEY_FILE;
  if (ca === undefined || certFile === undefined || keyFile === undefined) return undefined;
  return new DeployerRuntimeReads(config.LATCHKEY_DEPLOYER_ADDR, {
    ca,
    cert: await read(certFile, 'LATCHKEY_RUNTIME_TLS_CERT_FILE'),
    key: await read(keyFile, 'LATCHKEY_RUNTIME_TLS_KEY_FILE'),
  });
}

/** The HTTPS certificate and key: the HTTP ones when set, else the service's own; none in insecure mode. */
export async function httpsMaterial(config: GatewayConfig): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (config.LATCHKEY_INSECURE) return undefined;
  const certFile = config.LATCHKEY_HTTP_TLS_CERT_FILE ?? config.LATCHKEY_TLS_CERT_FILE;
  const keyFile = config.LATCHKEY_HTTP_TLS_KEY_FILE ?? config.LATCHKEY_TLS_KEY_FILE;
  if (certFile === undefined || keyFile === undefined) {
    throw new LatchkeyError(
      'config.invalid',
      'the gateway serves HTTPS: set LATCHKEY_HTTP_TLS_CERT_FILE and LATCHKEY_HTTP_TLS_KEY_FILE (or LATCHKEY_TLS_CERT_FILE and LATCHKEY_TLS_KEY_FILE), or LATCHKEY_INSECURE=1 for plain HTTP (local debugging only)',
      { kind: 'invalid_argument' },
    );
  }
  return {
    cert: await read(certFile, 'LATCHKEY_HTTP_TLS_CERT_FILE'),
    key: await read(keyFile, 'LATCHKEY_HTTP_TLS_KEY_FILE'),
  };
}

/** The console's sessions, with login links when their key is configured (one use across replicas: the bus). */
export async function consoleSessions(
  config: GatewayConfig,
  bus: Bus,
  log: Logger,
): Promise<ConsoleSessions | undefined> {
  if (config.LATCHKEY_SESSION_KEY_FILE === undefined) return undefined;
  const sessionKeys = await loadSessionKeys(config.LATCHKEY_SESSION_KEY_FILE);
  const linkFiles = config.LATCHKEY_LOGIN_LINK_KEY_FILE ?? [];
  const links =
    linkFiles.length === 0
      ? undefined
      : { keys: await loadLoginLinkKeys(linkFiles), redemptions: await natsLinkRedemptions(bus, log) };
  const clientId = config.LATCHKEY_CONSOLE_OIDC_CLIENT_ID;
  const consoleUrl = config.LATCHKEY_CONSOLE_URL;
  const secretFile = config.LATCHKEY_CONSOLE_OIDC_CLIENT_SECRET_FILE;
  const clientSecret =
    secretFile === undefined
      ? undefined
      : (
          await readFile(secretFile, 'utf8').catch(() => {
            throw new LatchkeyError(
              'config.invalid',
              `cannot read ${secretFile}: check LATCHKEY_CONSOLE_OIDC_CLIENT_SECRET_FILE`,
              { kind: 'invalid_argument' },
            );
          })
        ).trim();
  return ConsoleSessions.create({
    sessionKeys,
    ...(links !== undefined ? { links } : {}),
    ...(clientId !== undefined && consoleUrl !== undefined
      ? {
          oidc: (codec) =>
            OidcSignIn.discover(
              {
                issuer: config.LATCHKEY_OIDC_ISSUER,
                clientId,
                clientSecret,
                redirectUri: new URL(OIDC_CALLBACK_PATH, consoleUrl).href,
                scopes: config.LATCHKEY_CONSOLE_OIDC_SCOPES,
                allowLoopbackHttp: config.LATCHKEY_INSECURE,
              },
              codec,
            ),
        }
      : {}),
  });
}
