import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { LatchkeyError } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';
import type { Bus } from '@latchkey/nats';
import { serve } from '@latchkey/service';
import { connectUpstream } from './clients.js';
import { loadGatewayConfig, type GatewayConfig } from './config.js';
import { buildGateway } from './http/server.js';
import { ConsoleSessions } from './session/console-sessions.js';
import { natsLinkRedemptions } from './session/nats-link-redemptions.js';
import { OidcSignIn } from './session/oidc-sign-in.js';
import { OIDC_CALLBACK_PATH } from './http/routes/session-routes.js';
import { loadLoginLinkKeys, loadSessionKeys } from './session/session-keys.js';
import { DeployerRuntimeReads } from './runtime-reads.js';

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
async function runtimeReads(config: GatewayConfig, ca: Buffer | undefined): Promise<DeployerRuntimeReads | undefined> {
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
async function httpsMaterial(config: GatewayConfig): Promise<{ cert: Buffer; key: Buffer } | undefined> {
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
async function consoleSessions(config: GatewayConfig, bus: Bus, log: Logger): Promise<ConsoleSessions | undefined> {
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

// The gateway is stateless (no database): its gRPC server serves health only;
// its HTTP server calls the services as each request's caller.
serve({
  name: 'gateway',
  loadConfig: loadGatewayConfig,
  async build({ config, log, transport, bus, ...service }) {
    const upstream = service.close(
      connectUpstream(
        {
          catalog: config.LATCHKEY_CATALOG_ADDR,
          deployer: config.LATCHKEY_DEPLOYER_ADDR,
          ras: config.LATCHKEY_RAS_ADDR,
        },
        transport.tls?.ca,
      ),
    );
    const https = await httpsMaterial(config);
    const sessions = await consoleSessions(config, bus, log);
    if (sessions === undefined)
      log.warn('no LATCHKEY_SESSION_KEY_FILE: the console cannot sign in (Bearer tokens only)');
    const runtime = await runtimeReads(config, transport.tls?.ca);
    if (runtime) service.close(runtime);
    else
      log.warn(
        'no runtime identity (LATCHKEY_RUNTIME_TLS_CERT_FILE/_KEY_FILE): workloads cannot read their secrets here',
      );
    const app = await buildGateway({
      upstream,
      logger: log,
      bodyLimit: config.LATCHKEY_HTTP_BODY_LIMIT,
      https,
      ...(sessions !== undefined ? { sessions } : {}),
      ...(runtime ? { runtime } : {}),
    });
    service.onStop(() => app.close());
    await app.listen({ host: config.LATCHKEY_HTTP_HOST, port: config.LATCHKEY_HTTP_PORT });
    const port = (app.server.address() as AddressInfo).port;
    service.listening('http', port);
    if (https === undefined) {
      log.warn(
        `HTTP API listening in PLAINTEXT on http://${config.LATCHKEY_HTTP_HOST}:${port}/ (LATCHKEY_INSECURE=1): tokens and values cross the network unencrypted; local debugging only`,
      );
    } else {
      log.info(`HTTP API listening on https://${config.LATCHKEY_HTTP_HOST}:${port}/`);
    }
  },
});
