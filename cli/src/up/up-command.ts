import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  assertPortFree,
  ensureNatsServerBinary,
  findFreePort,
  isPortFree,
  JETSTREAM_LEADER_LINE,
  natsClusterUrls,
  planNatsCluster,
  runningAsRoot,
  startNatsServer,
  startOnFreePort,
  startPostgres,
  writeNatsNodeConfig,
  type NatsClusterNode,
  type NatsServerHandle,
} from '@latchkey/embedded';
import { checkHealth, type ClientTls } from '@latchkey/grpc/client';
import { CliError } from '../output/cli-errors.js';
import type { CliIo } from '../output/cli-io.js';
import {
  connectionFilePath,
  isPidAlive,
  readConnectionFile,
  removeConnectionFile,
  writeConnectionFile,
  type ConnectionInfo,
} from '../local-state/connection-file.js';
import type { ServiceName } from '../local-state/credentials-file.js';
import { ensureDataFolder } from '../local-state/data-folder.js';
import { reportError } from '../output/error-report.js';
import { consoleLoginLink } from '../commands/identity/console-command.js';
import { DEFAULT_LOGIN_HOURS, loginAs } from '../commands/identity/identity-commands.js';
import { isExpired, readIdentityFile } from '../local-state/identity-file.js';
import { ensureKeyMaterial } from '../local-state/key-material.js';
import { buildServiceEnv } from './service-env.js';
import { writeMetricsTargets } from './metrics-targets.js';
import { ensureSystemFolder, moveLegacyCluster } from './system-folder.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';
import { Supervisor, type Supervisable } from './supervisor.js';
import { withoutForeignSignalHooks } from './signal-hooks.js';
import { PORT_ENV, readUpConfig, START_ORDER, type LaunchedService, type UpConfig } from './up-config.js';

/** The embedded bootstrap platform admin (ras's LATCHKEY_PLATFORM_ADMINS unless the env names admins). */
export const BOOTSTRAP_ADMIN = 'admin';

export const DATABASES: Record<Exclude<ServiceName, 'resolver'>, string> = {
  catalog: 'latchkey_catalog',
  ras: 'latchkey_ras',
  deployer: 'latchkey_deployer',
};

/** The repository root, from this file's location (cli/dist/up/up-command.js). */
export function repoRoot(): string {
  return fileURLToPath(new URL('../../../', import.meta.url));
}

export function serviceEntry(root: string, service: LaunchedService): string {
  return path.join(root, 'services', service, 'dist', 'src', 'main.js');
}

/** Throws when a service has not been built, before anything is started. */
export function assertServicesBuilt(root: string): void {
  const missing = [...START_ORDER, 'gateway' as const].filter((s) => !existsSync(serviceEntry(root, s)));
  if (missing.length > 0) {
    throw new CliError(
      `service${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not built (no ${serviceEntry(root, missing[0] ?? 'ras')}): run npm run build`,
      { code: 'cli.not_built' },
    );
  }
}

/** Refuses to start a second launcher on a data folder whose launcher is alive. */
export async function assertNotRunning(home: string): Promise<void> {
  let info: ConnectionInfo;
  try {
    info = await readConnectionFile(home);
  } catch {
    return; // missing or unreadable: nobody is running (a stale file is overwritten later)
  }
  if (info.pid !== process.pid && isPidAlive(info.pid)) {
    throw new CliError(
      `Latchkey is already running on this data folder (pid ${info.pid}, see ${connectionFilePath(home)}): stop it first, or set LATCHKEY_HOME to another folder`,
      { code: 'cli.already_running' },
    );
  }
}

/** Checks the fixed ports up front, so a taken port fails before anything starts. */
export async function assertPortsFree(config: UpConfig): Promise<void> {
  if (config.natsUrl === undefined && config.natsPort !== 0) await assertPortFree(config.natsPort, '127.0.0.1', 'NATS');
  if (config.pgPort !== 0) await assertPortFree(config.pgPort, '127.0.0.1', 'PostgreSQL');
  const fixed: [string, number, keyof typeof PORT_ENV][] = [
    ...START_ORDER.map((s) => [s, config.servicePorts[s], s] as [string, number, keyof typeof PORT_ENV]),
    ['gateway', config.gatewayPort, 'gateway'],
    ['gateway HTTP', config.httpPort, 'http'],
  ];
  for (const [what, port, key] of fixed) {
    if (port !== 0 && !(await isPortFree(port, '127.0.0.1'))) {
      throw new CliError(
        `port ${port} (${what}) is already in use on 127.0.0.1: stop what uses it or set ${PORT_ENV[key]}`,
        { code: 'infra.port_in_use' },
      );
    }
  }
  const seen = new Map<number, string>();
  for (const [what, port] of [
    ['NATS', config.natsUrl === undefined ? config.natsPort : 0],
    ['PostgreSQL', config.pgPort],
    ...fixed.map(([what, port]) => [what, port] as const),
  ] as const) {
    if (port === 0) continue;
    const other = seen.get(port);
    if (other !== undefined) {
      throw new CliError(`${other} and ${what} are both configured for port ${port}: give each its own port`, {
        code: 'cli.bad_config',
      });
    }
    seen.set(port, what);
  }
}

async function waitHealthy(address: string, timeoutMs: number, tls: ClientTls | undefined): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await checkHealth(address, 2000, tls)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function fileLogger(file: string): (line: string) => void {
  // Serialised appends; errors (disk full) must not take the launcher down.
  let chain = Promise.resolve();
  return (line) => {
    chain = chain.then(() => appendFile(file, line + '\n', { mode: 0o600 })).catch(() => undefined);
  };
}

/**
 * Free ports for one start, none handed out twice: findFreePort may give the
 * same port again until something binds it, and these are bound later.
 */
function portPicker(): { take(): Promise<number>; reserve(port: number): void } {
  const taken = new Set<number>();
  return {
    async take() {
      for (;;) {
        const p = await findFreePort();
        if (!taken.has(p)) {
          taken.add(p);
          return p;
        }
      }
    },
    reserve: (port) => void taken.add(port),
  };
}

/** Starts on the configured port, or on a free one (picking again if it is taken meanwhile) when that is 0. */
function onPort<T>(configured: number, start: (port: number) => Promise<T>): Promise<T> {
  return configured === 0 ? startOnFreePort(start) : start(configured);
}

interface Resource {
  name: string;
  stop(): Promise<void>;
}

/** How long a new NATS cluster may take to elect its JetStream meta leader. */
const NATS_LEADER_TIMEOUT_MS = 30_000;

export function readyLine(addresses: Record<ServiceName, string>, home: string, replicas: number): string {
  const each = replicas > 1 ? `; ${replicas} replicas of each service` : '';
  return (
    `Latchkey is ready — gRPC: catalog ${addresses.catalog}, ras ${addresses.ras}, ` +
    `deployer ${addresses.deployer}, resolver ${addresses.resolver} (data: ${home}${each})`
  );
}

/**
 * `latchkey up`: starts NATS, PostgreSQL and the four services in the
 * foreground; resolves with the exit code once everything is stopped again.
 */
export async function runUp(io: CliIo): Promise<number> {
  const config = readUpConfig(io.env, io.cwd);
  const { home } = config;
  const root = repoRoot();
  await ensureDataFolder(home);
  assertServicesBuilt(root);
  await assertNotRunning(home);
  const keys = await ensureKeyMaterial(home);
  // As root, the PostgreSQL cluster (run as OS user postgres) and the sandbox's work folders (run as
  // each domain's uid) live where those users can reach them; the data folder stays private.
  const shared = runningAsRoot() ? await ensureSystemFolder(home, config.systemDir) : home;
  await assertPortsFree(config);
  if (config.insecure) {
    io.err(
      'latchkey: WARNING: --insecure: every service listens in PLAINTEXT and services are named by shared tokens; for local debugging only',
    );
  }
  const healthTls: ClientTls | undefined = config.insecure
    ? undefined
    : { ca: await readFile(keys.paths.tls.caCertFile) };
  // The bootstrap platform admin is the CLI's identity until someone logs in as another user.
  const current = await readIdentityFile(home).catch(() => undefined);
  if (current === undefined || isExpired(current)) {
    await loginAs(home, BOOTSTRAP_ADMIN, []);
    io.out(`CLI identity: ${BOOTSTRAP_ADMIN}, the bootstrap platform admin (latchkey login --user NAME to change it)`);
  }

  const resources: Resource[] = [];
  const abort = new AbortController();
  let shutdown: Promise<number> | undefined;
  let startupSettled: Promise<unknown> = Promise.resolve();
  let wroteConnection = false;
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  const stopAll = (code: number): Promise<number> => {
    if (shutdown !== undefined) return shutdown;
    abort.abort();
    shutdown = (async () => {
      // Children in reverse order of start, then PostgreSQL, then NATS (also reverse order).
      while (resources.length > 0) {
        const r = resources.pop();
        if (r === undefined) break;
        try {
          await r.stop();
        } catch (err) {
          io.err(`latchkey: could not stop ${r.name} cleanly: ${(err as Error).message}`);
        }
      }
      // Anything still starting is stopped by add() when it arrives.
      await startupSettled.catch(() => undefined);
      if (wroteConnection) await removeConnectionFile(home).catch(() => undefined);
      return code;
    })();
    void shutdown.then(finish);
    return shutdown;
  };

  const add = async (r: Resource): Promise<void> => {
    if (shutdown !== undefined) {
      await r.stop().catch(() => undefined);
      throw new CliError('stopped while starting', { code: 'cli.cancelled' });
    }
    resources.push(r);
  };

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      io.out(`received ${signal}: stopping Latchkey...`);
      void stopAll(0);
    } else if (signals === 2) {
      io.out('still stopping (services get 10s to exit before they are killed)...');
    }
  };
  const signalNames: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signalNames) process.on(s, onSignal);

  // A service replica, NATS node or PostgreSQL that dies unexpectedly is started again (bounded backoff, logged);
  // one that keeps dying stops Latchkey.
  const supervise = <P extends Supervisable>(
    name: string,
    first: P,
    restart: () => Promise<P>,
    logFile?: string,
  ): Supervisor<P> =>
    new Supervisor({
      name,
      first,
      restart,
      ...(logFile === undefined ? {} : { logFile }),
      keepRunning: () => shutdown === undefined,
      report: (line) => {
        if (shutdown === undefined) io.err(line);
      },
      giveUp: (why) => {
        if (shutdown !== undefined) return;
        io.err(`latchkey: ${why}; stopping Latchkey`);
        void stopAll(1);
      },
    });

  /**
   * Starts `name` on 127.0.0.1 (its configured port, or a free one when 0),
   * supervised: restarted on the same port when it exits, stopped with the rest.
   */
  const startSupervised = async <P extends Supervisable & { port: number }>(
    name: string,
    configuredPort: number,
    start: (port: number) => Promise<P>,
    logFile: string,
  ): Promise<P> => {
    const first = await onPort(configuredPort, (port) => {
      io.out(`starting ${name} on 127.0.0.1:${port}...`);
      return start(port);
    });
    const sup = supervise(name, first, () => start(first.port), logFile);
    await add({ name, stop: () => sup.stop() });
    return first;
  };

  /** Starts LATCHKEY_NATS_NODES nats-server nodes as one JetStream cluster; resolves with their URL list. */
  const startNatsCluster = async (): Promise<string> => {
    const n = config.natsNodes;
    const ports = portPicker();
    const freePort = ports.take;
    const clientPorts: number[] = [];
    for (let i = 0; i < n; i++) {
      // A fixed LATCHKEY_NATS_PORT is the first node's; the others take the ports after it.
      if (config.natsPort !== 0) {
        await assertPortFree(config.natsPort + i, '127.0.0.1', 'NATS');
        ports.reserve(config.natsPort + i);
        clientPorts.push(config.natsPort + i);
      } else clientPorts.push(await freePort());
    }
    const clusterPorts: number[] = [];
    for (let i = 0; i < n; i++) clusterPorts.push(await freePort());
    const plan = planNatsCluster({ clientPorts, clusterPorts });
    const base = await readFile(keys.paths.bus.serverConfigFile, 'utf8');
    const dir = path.join(home, 'nats-cluster');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const binary = await ensureNatsServerBinary({ allowInstall: true, log: (l) => io.out(`  ${l}`) });
    let onLeader: () => void = () => undefined;
    const leader = new Promise<void>((resolve) => (onLeader = resolve));
    const startNode = async (node: NatsClusterNode, logFile: string): Promise<NatsServerHandle> => {
      const file = path.join(dir, `${node.name}.conf`);
      await writeNatsNodeConfig(file, base, plan, node);
      const toFile = fileLogger(logFile);
      return startNatsServer({
        port: node.clientPort,
        host: '127.0.0.1',
        storeDir: path.join(dir, node.name),
        binary,
        serverName: node.name,
        configFile: file,
        log: (line) => {
          toFile(line);
          if (JETSTREAM_LEADER_LINE.test(line)) onLeader();
        },
      });
    };
    for (const [i, node] of plan.nodes.entries()) {
      const logFile = path.join(home, 'logs', `nats-${i + 1}.log`);
      io.out(`starting NATS node ${node.name} on 127.0.0.1:${node.clientPort} (routes on ${node.clusterPort})...`);
      const first = await startNode(node, logFile);
      const sup = supervise(`NATS node ${node.name}`, first, () => startNode(node, logFile), logFile);
      await add({ name: `NATS node ${node.name}`, stop: () => sup.stop() });
    }
    let timer: NodeJS.Timeout | undefined;
    const elected = await Promise.race([
      leader.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), NATS_LEADER_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (!elected) {
      throw new CliError(
        `the ${n} NATS nodes elected no JetStream leader within ${NATS_LEADER_TIMEOUT_MS / 1000}s: see ${path.join(home, 'logs', 'nats-1.log')} (and nats-2, ...)`,
        { code: 'cli.nats_cluster_failed' },
      );
    }
    io.out(`  NATS cluster of ${n} nodes ready; streams, consumers and KV buckets on ${config.natsReplicas} of them`);
    return natsClusterUrls(plan);
  };

  const startup = async (): Promise<void> => {
    // NATS
    let natsUrl: string;
    if (config.natsUrl !== undefined) {
      natsUrl = config.natsUrl;
      io.out(`using NATS at ${natsUrl} (LATCHKEY_NATS_URL)`);
      io.out(
        `  it must run with TLS by the CA ${keys.paths.tls.caCertFile} and trust this data folder's bus operator: include ${keys.paths.bus.serverConfigFile} in its configuration`,
      );
    } else if (config.natsNodes > 1) {
      natsUrl = await startNatsCluster();
    } else {
      if (config.natsPort !== 0) await assertPortFree(config.natsPort, '127.0.0.1', 'NATS');
      const natsLogFile = path.join(home, 'logs', 'nats.log');
      const natsLog = fileLogger(natsLogFile);
      const binary = await ensureNatsServerBinary({ allowInstall: true, log: (l) => io.out(`  ${l}`) });
      const startNode = (port: number): Promise<NatsServerHandle> =>
        startNatsServer({
          port,
          host: '127.0.0.1',
          storeDir: path.join(home, 'nats'),
          binary,
          configFile: keys.paths.bus.serverConfigFile,
          log: natsLog,
        });
      natsUrl = (await startSupervised('NATS', config.natsPort, startNode, natsLogFile)).url;
    }
    // PostgreSQL
    const pgLogFile = path.join(home, 'logs', 'postgres.log');
    const pgLog = fileLogger(pgLogFile);
    const pgDir = path.join(shared, 'postgres');
    if (pgDir !== path.join(home, 'postgres') && (await moveLegacyCluster(path.join(home, 'postgres'), pgDir)))
      io.out(`moved the PostgreSQL cluster from ${path.join(home, 'postgres')} to ${pgDir}`);
    const startPg = (pgPort: number) =>
      withoutForeignSignalHooks(() =>
        startPostgres({
          dataDir: pgDir,
          ...(runningAsRoot() ? { binariesDir: path.join(config.systemDir, 'binaries') } : {}),
          port: pgPort,
          password: keys.postgresPassword,
          databases: Object.values(DATABASES),
          durable: config.pgDurable,
          log: pgLog,
        }),
      );
    // Restarted on its port and data folder like the others: the services' pools connect again.
    const pg = await startSupervised('PostgreSQL', config.pgPort, startPg, pgLogFile);
    const databaseUrls = {
      catalog: pg.connectionString(DATABASES.catalog),
      ras: pg.connectionString(DATABASES.ras),
      deployer: pg.connectionString(DATABASES.deployer),
    };

    // Services: every replica of every service at once. Each one's peers are named by address
    // (the first replica's port, fixed here before anything starts), and gRPC connects to a peer
    // when it is first called, so none waits for another to be up.
    const all: ServiceProcess[] = [];
    const freePort = portPicker().take;
    const services = [...START_ORDER, 'gateway' as const];
    const firstPorts = {} as Record<LaunchedService, number>;
    for (const service of services) {
      const configured = service === 'gateway' ? config.gatewayPort : config.servicePorts[service];
      firstPorts[service] = configured !== 0 ? configured : await freePort();
    }
    const peerAddress = (s: LaunchedService): string => `127.0.0.1:${firstPorts[s]}`;
    // The first gateway's HTTP port is fixed before anything starts: the deployer hands its URL to workloads.
    const httpPort = config.httpPort !== 0 ? config.httpPort : await freePort();
    const workloadApiUrl = `${config.insecure ? 'http' : 'https'}://127.0.0.1:${httpPort}`;
    // Each replica's Prometheus listener, on a free port of its own.
    const metrics: { service: string; replica: string; address: string }[] = [];
    const replicas: { service: LaunchedService; replica: number; metricsPort: number }[] = [];
    for (const service of services) {
      for (let replica = 1; replica <= config.replicas; replica++) {
        replicas.push({ service, replica, metricsPort: await freePort() });
      }
    }
    const startOne = async ({ service, replica, metricsPort }: (typeof replicas)[number]): Promise<ServiceProcess> => {
      const id = `${service}-${replica}`;
      // A restart keeps the replica's ports (the metrics port too: metrics-targets.json names it).
      const envFor = (port: number, replicaHttpPort: number): NodeJS.ProcessEnv =>
        buildServiceEnv(io.env, {
          metricsPort,
          service,
          replica,
          port,
          ...(service === 'gateway' ? { httpPort: replicaHttpPort } : {}),
          ...(service === 'deployer' ? { workloadApiUrl } : {}),
          home,
          natsUrl,
          ...(config.natsReplicas > 1 ? { natsReplicas: config.natsReplicas } : {}),
          keys: keys.paths,
          databaseUrls,
          insecure: config.insecure,
          bootstrapAdmin: BOOTSTRAP_ADMIN,
          workDir: path.join(shared, 'work'),
          rasAddr: peerAddress('ras'),
          catalogAddr: peerAddress('catalog'),
          deployerAddr: peerAddress('deployer'),
        });
      const startReplica = (env: NodeJS.ProcessEnv): Promise<ServiceProcess> =>
        startServiceProcess({
          service,
          replica,
          entry: serviceEntry(root, service),
          env,
          logFile: path.join(home, 'logs', `${id}.log`),
          signal: abort.signal,
          livenessTimeoutMs: config.livenessTimeoutMs,
        });
      const proc = await startReplica(
        envFor(replica === 1 ? firstPorts[service] : 0, service === 'gateway' && replica === 1 ? httpPort : 0),
      );
      // A restart takes the ports it had: the other services and the connection file name them.
      const sup = supervise(
        `service ${id}`,
        proc,
        () => startReplica(envFor(proc.port, proc.ports['http'] ?? 0)),
        proc.logFile,
      );
      await add({ name: `service ${id}`, stop: () => sup.stop() });
      const http = proc.ports['http'];
      io.out(
        `  ${id} ready on ${proc.address}${http === undefined ? '' : `, HTTP${config.insecure ? '' : 'S'} on 127.0.0.1:${http}`}`,
      );
      return proc;
    };
    io.out(`starting services ${replicas.map((r) => `${r.service}-${r.replica}`).join(', ')}...`);
    // All settled before a failure is reported: a replica still starting is then stopped too (by add).
    const outcomes = await Promise.allSettled(replicas.map(startOne));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const first: Partial<Record<LaunchedService, ServiceProcess>> = {};
    outcomes.forEach((o, i) => {
      if (o.status !== 'fulfilled') return;
      const { service, replica, metricsPort } = replicas[i]!;
      first[service] ??= o.value;
      all.push(o.value);
      metrics.push({
        service,
        replica: `${service}-${replica}`,
        address: `127.0.0.1:${o.value.ports['metrics'] ?? metricsPort}`,
      });
    });

    // Every replica must answer the health check.
    const unhealthy: string[] = [];
    await Promise.all(
      all.map(async (p) => {
        if (!(await waitHealthy(p.address, 10_000, healthTls))) unhealthy.push(`${p.id} (${p.address})`);
      }),
    );
    if (unhealthy.length > 0) {
      throw new CliError(`reported ready but does not answer health checks: ${unhealthy.join(', ')}`, {
        code: 'cli.unhealthy',
      });
    }
    if (shutdown !== undefined) return;

    const addr = (s: ServiceName): string => first[s]?.address ?? '';
    const gatewayHttp = first.gateway?.ports['http'];
    const gatewayUrl =
      gatewayHttp === undefined ? undefined : `${config.insecure ? 'http' : 'https'}://127.0.0.1:${gatewayHttp}`;
    await writeConnectionFile(home, {
      catalog: addr('catalog'),
      ras: addr('ras'),
      resolver: addr('resolver'),
      deployer: addr('deployer'),
      credentialsFile: keys.paths.credentialsFile,
      caFile: config.insecure ? '' : keys.paths.tls.caCertFile,
      insecure: config.insecure,
      natsUrl,
      ...(gatewayUrl !== undefined ? { gateway: gatewayUrl } : {}),
      pid: process.pid,
      metrics,
    });
    wroteConnection = true;
    io.out(
      `Metrics: GET /metrics of every replica, listed for Prometheus in ${await writeMetricsTargets(home, metrics)}`,
    );
    if (gatewayUrl !== undefined) {
      io.out(`Console: ${gatewayUrl}/`);
      // A one-time login link for the CLI's identity (the bootstrap admin unless someone logged in as another).
      const me = await readIdentityFile(home).catch(() => undefined);
      const link = await consoleLoginLink(home, gatewayUrl, {
        user: me?.user ?? BOOTSTRAP_ADMIN,
        groups: me?.groups ?? [],
        hours: DEFAULT_LOGIN_HOURS,
      });
      io.out(
        `  sign in as ${me?.user ?? BOOTSTRAP_ADMIN} (this link works once, for 5 minutes; latchkey console --user NAME prints another): ${link.url}`,
      );
      io.out(`API: ${gatewayUrl}/api/ (OpenAPI: ${gatewayUrl}/api/openapi.json)`);
      if (!config.insecure) {
        io.out(`  its certificate is from this data folder's CA: trust ${keys.paths.tls.caCertFile} (curl --cacert)`);
      }
    }
    io.out(
      readyLine(
        { catalog: addr('catalog'), ras: addr('ras'), resolver: addr('resolver'), deployer: addr('deployer') },
        home,
        config.replicas,
      ),
    );
  };

  const started = startup();
  startupSettled = started;
  try {
    await started;
  } catch (err) {
    if (shutdown === undefined) {
      for (const line of reportError(err, io.env).lines) io.err(line);
      await stopAll(1);
    }
  }
  const code = await finished;
  for (const s of signalNames) process.off(s, onSignal);
  return code;
}
