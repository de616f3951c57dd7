/** The Kubernetes emulator's HTTP server: authentication, test controls, the request log, and its test handle. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { type IncomingMessage, type RequestListener, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import path from 'node:path';
import { ensureLocalTls, localTlsFiles } from '@latchkey/crypto';
import { tempDir } from '../temp-dir.js';
import { FaultInjector, closeServer, listenOnLoopback, queryOf, readBodyText } from '../emulator-common/json-http.js';
import { type Exchange, send } from './exchange.js';
import { discoveryDocument } from './discovery.js';
import { parseRoute, serve } from './routes.js';
import { clone, injectedFailure, statusBody } from './status.js';
import { KubeStore } from './store.js';
import type {
  KubernetesEmulator,
  KubernetesEmulatorOptions,
  KubernetesObject,
  KubernetesRequestLogEntry,
} from './types.js';

/** The API server's limit on a request body (3 MiB); larger ones are answered 413. */
export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

interface Context {
  store: KubeStore;
  /** host:port, as discovery names the server. */
  address: string;
  /** status 0 resets the connection. */
  faults: FaultInjector<number>;
  token: string;
}

async function handle(
  ctx: Context,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  entry: KubernetesRequestLogEntry,
): Promise<void> {
  const route = parseRoute(url.pathname);
  const text = await readBodyText(req);
  const tooLarge = Buffer.byteLength(text) > MAX_REQUEST_BODY_BYTES;
  await ctx.faults.delay();
  const q = url.searchParams;
  const x: Exchange = {
    method: entry.method,
    query: q,
    text,
    contentType: req.headers['content-type'] ?? '',
    accept: req.headers.accept ?? '',
    dryRun: q.getAll('dryRun').includes('All'),
    res,
    entry,
  };
  const failure = ctx.faults.takeFailure();
  const discovery = x.method === 'GET' ? discoveryDocument(url.pathname, ctx.address) : undefined;
  if (failure === 0) {
    entry.status = 0;
    req.socket.destroy();
  } else if (failure !== undefined) {
    send(x, failure, injectedFailure(failure, x.method, route));
  } else if (req.headers.authorization !== `Bearer ${ctx.token}`) {
    send(x, 401, statusBody(401, 'Unauthorized', 'Unauthorized'));
  } else if (tooLarge) {
    send(
      x,
      413,
      statusBody(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_REQUEST_BODY_BYTES}`),
    );
  } else if (discovery !== undefined) {
    send(x, 200, discovery);
  } else {
    serve(ctx.store, route, x);
  }
}

/** A server certificate for 127.0.0.1 from a fresh local CA (the files are removed once read). */
async function serverCertificate(): Promise<{ key: string; cert: string; caPem: string }> {
  const dir = await tempDir('latchkey-k8s-emulator-tls-');
  try {
    const files = localTlsFiles(dir.path, [], { serverOnly: ['kubernetes'] });
    await ensureLocalTls(files);
    const own = files.services['kubernetes'] as { certFile: string; keyFile: string };
    const [key, cert, caPem] = await Promise.all(
      [own.keyFile, own.certFile, files.caCertFile].map((f) => fs.readFile(path.resolve(f), 'utf8')),
    );
    return { key: key as string, cert: cert as string, caPem: caPem as string };
  } finally {
    await dir.cleanup();
  }
}

/** Starts the emulator on 127.0.0.1 and a free port. */
export async function startKubernetesEmulator(opts: KubernetesEmulatorOptions = {}): Promise<KubernetesEmulator> {
  // Loaded here, not at module load, so that importing @latchkey/testing stays cheap.
  const { KubeConfig: KubeConfigClass } = await import('@kubernetes/client-node');
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const store = new KubeStore({
    ...(opts.gcDelayMs === undefined ? {} : { gcDelayMs: opts.gcDelayMs }),
    namespaces: opts.namespaces ?? [],
  });
  const ctx: Context = { store, address: '', faults: new FaultInjector<number>(), token };
  const log: KubernetesRequestLogEntry[] = [];

  const handler: RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const entry: KubernetesRequestLogEntry = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query: queryOf(url),
    };
    log.push(entry);
    handle(ctx, req, res, url, entry).catch(() => {
      if (!res.headersSent) {
        entry.status = 500;
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(statusBody(500, 'InternalError', 'Internal error occurred')));
      } else res.destroy();
    });
  };
  const tls = opts.tls === true ? await serverCertificate() : undefined;
  const server =
    tls === undefined ? createServer(handler) : createHttpsServer({ key: tls.key, cert: tls.cert }, handler);
  const port = await listenOnLoopback(server);
  ctx.address = `127.0.0.1:${port}`;
  const url = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  const copies = (resource: 'secrets' | 'pods', ns: string) =>
    store.objectsIn(resource, ns).map((o) => clone(o) as unknown as KubernetesObject);

  const kubeConfig = () => {
    const kc = new KubeConfigClass();
    kc.loadFromClusterAndUser(
      tls === undefined
        ? { name: 'latchkey-emulator', server: url, skipTLSVerify: true }
        : {
            name: 'latchkey-emulator',
            server: url,
            caData: Buffer.from(tls.caPem).toString('base64'),
            skipTLSVerify: false,
          },
      { name: 'latchkey-emulator', token },
    );
    return kc;
  };

  return {
    url,
    token,
    caPem: tls?.caPem,
    kubeConfig,
    kubeConfigYaml: () => kubeConfig().exportConfig(),
    setLatency: (ms) => ctx.faults.setLatency(ms),
    failNext: (n, status) => ctx.faults.failNext(n, status),
    requests: () => log.map((e) => ({ ...e, query: { ...e.query } })),
    secrets: (ns) => copies('secrets', ns),
    pods: (ns) => copies('pods', ns),
    setPodPhase: (ns, name, phase) => store.setPodPhase(ns, name, phase),
    createNamespace(name) {
      if (store.namespace(name) === undefined) store.createNamespace({ metadata: { name } }, false);
    },
    appendPodLog: (ns, name, text) => store.appendPodLog(ns, name, text),
    async stop() {
      store.closeStreams();
      await closeServer(server);
    },
  };
}
