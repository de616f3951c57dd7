/** The Vault emulator's HTTP server and its test-facing handle. */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { FaultInjector, closeServer, listenOnLoopback, sendJson } from '../emulator-common/json-http.js';
import { VaultFailure } from './failure.js';
import { PathFaults } from './path-faults.js';
import { DEFAULT_MAX_REQUEST_BYTES, handleVaultRequest, type VaultControls } from './router.js';
import type { VaultReply } from './routes.js';
import { makeVaultTlsMaterial, type BadCertificateKind, type VaultTlsMaterial } from './tls-material.js';
import {
  DEFAULT_TOKEN_TTL,
  type SecretState,
  VaultStore,
  destroy,
  newToken,
  softDelete,
  trimSlashes,
  writeVersion,
} from './store.js';
import type { NamespaceOption, RequestLogEntry, VaultEmulator, VaultEmulatorOptions } from './types.js';

function asReply(err: unknown): VaultReply {
  if (err instanceof VaultFailure) return { status: err.status, body: err.body };
  return { status: 500, body: { errors: ['1 error occurred:\n\t* internal error\n\n'] } };
}

function answer(req: http.IncomingMessage, res: http.ServerResponse, r: VaultReply | 'reset'): void {
  if (r === 'reset') req.socket.destroy();
  else if (r.body === undefined) res.writeHead(r.status).end();
  else sendJson(res, r.status, r.body);
}

/** Starts the emulator on 127.0.0.1 and a free port. */
export async function startVaultEmulator(opts: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const rootToken = opts.rootToken ?? newToken();
  const store = new VaultStore(rootToken, opts.mounts ?? ['secret'], opts.kv1Mounts ?? []);
  const log: RequestLogEntry[] = [];
  const controls: VaultControls & { sealed: boolean } = {
    sealed: false,
    faults: new FaultInjector<number | 'reset'>(),
    pathFaults: new PathFaults(),
    log,
    maxRequestBytes: opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handleVaultRequest(store, controls, req)
      .catch(asReply)
      .then((r) => answer(req, res, r))
      .catch(() => req.socket.destroy());
  };
  const tls: VaultTlsMaterial | undefined = opts.tls === true ? await makeVaultTlsMaterial() : undefined;
  const server = tls ? https.createServer(tls.good, onRequest) : http.createServer(onRequest);
  // Every TCP connection, from its first byte: closeAllConnections() knows only those whose TLS handshake is over.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const port = await listenOnLoopback(server);
  /**
   * Serves `cert` from now on; open connections are dropped and the session
   * ticket keys replaced, so that every client meets it, in a full handshake,
   * on its next request (a resumed TLS session would skip the certificate).
   * Connections still in their handshake are dropped too: one that began
   * before the swap would finish it with the old certificate and stay open.
   */
  const present = (cert: { key: string; cert: string }) => {
    (server as https.Server).setSecureContext(cert);
    (server as https.Server).setTicketKeys(randomBytes(48));
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
  };
  /** `deleteVersion` / `destroyVersion`: one version of a secret, if the secret exists. */
  const onVersion =
    (op: (secret: SecretState, version: number) => void) =>
    (mount: string, path: string, version: number, o: NamespaceOption = {}) => {
      const secret = store.requireMount(mount, o.namespace ?? '').secrets.get(trimSlashes(path));
      if (secret) op(secret, version);
      return Promise.resolve();
    };

  return {
    kind: 'emulator',
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    ...(tls ? { ca: tls.ca } : {}),
    rootToken,
    supportsNamespaces: true,
    addToken(policyPrefixes, o = {}) {
      const ttl = o.ttlSeconds ?? DEFAULT_TOKEN_TTL;
      return Promise.resolve(store.issueToken(policyPrefixes, ttl, 'test', 'auth/token/create').token);
    },
    addAppRole(roleId, secretId, policyPrefixes, o = {}) {
      store.addAppRole(roleId, secretId, policyPrefixes, o);
      return Promise.resolve();
    },
    mount(name, o = {}) {
      store.createMount(name, trimSlashes(o.namespace ?? ''), o.version ?? 2);
      return Promise.resolve();
    },
    putSecret(mount, path, data, o = {}) {
      const m = store.requireMount(mount, o.namespace ?? '');
      return Promise.resolve(writeVersion(m.secrets, trimSlashes(path), data, m.version === 1 ? 1 : undefined));
    },
    deleteVersion: onVersion(softDelete),
    destroyVersion: onVersion(destroy),
    addDatabaseRole(mount, role, o = {}) {
      store.addDatabaseRole(trimSlashes(o.namespace ?? ''), mount, role, {
        defaultTtlSeconds: o.defaultTtlSeconds ?? 3600,
        maxTtlSeconds: o.maxTtlSeconds ?? 86_400,
      });
    },
    leases: () =>
      store.databases.all().map((l) => ({
        ...l,
        issuedAt: new Date(l.issuedAt),
        expiresAt: new Date(l.expiresAt),
        lastRenewal: l.lastRenewal === undefined ? undefined : new Date(l.lastRenewal),
      })),
    advanceClock: (seconds) => store.clock.advance(seconds),
    seal(b) {
      controls.sealed = b;
    },
    setLatency: (ms) => controls.faults.setLatency(ms),
    failNext: (count, status) => controls.faults.failNext(count, status),
    injectFault: (pathPrefix, kind) => controls.pathFaults.add(pathPrefix, kind),
    presentBadCertificate(kind: BadCertificateKind) {
      if (!tls) throw new Error('presentBadCertificate needs an https emulator: startVaultEmulator({ tls: true })');
      present(tls.bad[kind]);
      let cleared = false;
      return () => {
        if (cleared) return;
        cleared = true;
        present(tls.good);
      };
    },
    requests: () => log.map((e) => ({ ...e, query: { ...e.query } })),
    clearRequests() {
      log.length = 0;
    },
    stop: () => closeServer(server),
  };
}
