import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { readSealKeyFile, readSigningKeyFile, signPayload } from '@latchkey/crypto';
import { createPool, migrate } from '@latchkey/db';
import { ensureBubblewrapBinary } from '@latchkey/embedded';
import {
  dropOnPolicyChange,
  ensureEventTables,
  inboxPrefix,
  ownsStream,
  OutboxRelay,
  PeriodicTask,
  STREAM_EVENTS,
  STREAM_RESOLVED,
  STREAMS,
  type WorkloadOutcome,
} from '@latchkey/events';
import {
  CachingAuthorizer,
  createServer,
  RasAuthorizer,
  readCredentials,
  runService,
  identityAuthenticator,
  loadServiceTransport,
} from '@latchkey/grpc';
import { createLogger, initTracing, Redactor } from '@latchkey/logger';
import { connectBus, readBusAuth, ConsumerRunner, ensureConsumer, ensureStream } from '@latchkey/nats';
import {
  DeployerInternalService,
  DeployerServiceService,
  type DeployerInternalServer,
  type DeployerServiceServer,
} from '@latchkey/proto';
import { NatsResolutionPlanner } from './adapters/nats-resolution-planner.js';
import { PostgresRedeployRepo } from './adapters/postgres-redeploy-repo.js';
import { PostgresReferenceIndex } from './adapters/postgres-reference-index.js';
import { PostgresWorkloadRepo } from './adapters/postgres-workload-repo.js';
import { NoopRuntime } from './adapters/noop-runtime.js';
import { PostgresSandboxIdentities } from './adapters/postgres-sandbox-identities.js';
import { ProcessRuntime } from './adapters/process-runtime.js';
import { prepareIsolation } from './adapters/process-sandbox.js';
import { loadDeployerConfig } from './config.js';
import type { WorkloadRuntime } from './domain/ports.js';
import { AutoRedeployService } from './domain/auto-redeploy-service.js';
import { ReferenceIndexService } from './domain/reference-index-service.js';
import { sweepOutput } from './domain/output-log.js';
import { WorkloadService } from './domain/workload-service.js';
import {
  RESOLUTION_FAILED_CONSUMER,
  RESOLUTION_RETRYING_CONSUMER,
  RESOLVED_CONSUMER,
  SECRET_CHANGED_CONSUMER,
  WORKLOAD_STALE_CONSUMER,
  resolutionFailedConsumer,
  resolutionRetryingConsumer,
  resolvedConsumer,
  secretChangedConsumer,
  workloadStaleConsumer,
} from './transport/events/deployer-consumers.js';
import { subscribeStopRequests } from './transport/events/replica-subscriptions.js';
import { deployerHandlers } from './transport/grpc/deployer-handler.js';
import { deployerInternalCallers, deployerInternalHandlers } from './transport/grpc/deployer-internal-handler.js';

// One redactor for the service's log and its workloads' output: values are
// masked in both while a deployment holds them.
const redactor = new Redactor();
const logger = createLogger({
  service: 'deployer',
  level: process.env.LATCHKEY_LOG_LEVEL as 'info' | undefined,
  redactor,
});

runService('deployer', logger, async () => {
  const config = loadDeployerConfig();
  initTracing();
  const log = logger.child({ replica: config.LATCHKEY_REPLICA_ID });
  // Its certificate (or, with LATCHKEY_INSECURE=1, its shared token) names it to the others.
  const transport = await loadServiceTransport('deployer', config, readCredentials);
  const token = transport.client;
  const sealKey = await readSealKeyFile(config.LATCHKEY_SEAL_PRIVATE_KEY_FILE);
  // Deploying events and plan requests are signed with it: the resolver acts on nothing else.
  const signingKey = await readSigningKeyFile(config.LATCHKEY_SIGNING_KEY_FILE);
  const sign = (payload: Buffer) => signPayload(signingKey, payload);
  await mkdir(config.LATCHKEY_WORK_DIR, { recursive: true, mode: 0o700 });
  const pool = createPool(config.LATCHKEY_DATABASE_URL, log);
  await ensureEventTables(pool);
  await migrate(pool, fileURLToPath(new URL('../../migrations', import.meta.url)), log);
  const bus = await connectBus(
    config.LATCHKEY_NATS_URL,
    config.LATCHKEY_REPLICA_ID,
    log,
    await readBusAuth(config, inboxPrefix('deployer')),
  );
  for (const s of STREAMS) await ensureStream(bus.jsm, s, { update: ownsStream('deployer', s.name) });
  await ensureConsumer(bus.jsm, {
    stream: STREAM_RESOLVED,
    durable: RESOLVED_CONSUMER,
    filterSubjects: ['latchkey.workload.resolved.>'],
  });
  await ensureConsumer(bus.jsm, {
    stream: STREAM_EVENTS,
    durable: RESOLUTION_FAILED_CONSUMER,
    filterSubjects: ['latchkey.workload.resolution_failed.>'],
  });
  await ensureConsumer(bus.jsm, {
    stream: STREAM_EVENTS,
    durable: SECRET_CHANGED_CONSUMER,
    filterSubjects: ['latchkey.secret.changed.>'],
  });
  await ensureConsumer(bus.jsm, {
    stream: STREAM_EVENTS,
    durable: RESOLUTION_RETRYING_CONSUMER,
    filterSubjects: ['latchkey.workload.resolution_retrying.>'],
  });
  await ensureConsumer(bus.jsm, {
    stream: STREAM_EVENTS,
    durable: WORKLOAD_STALE_CONSUMER,
    filterSubjects: ['latchkey.workload.stale.>'],
  });

  const relay = new OutboxRelay({ pool, js: bus.js, logger: log, source: 'latchkey/deployer' });
  const rasAuthorizer = new RasAuthorizer(config.LATCHKEY_RAS_ADDR, token);
  // ras's answers are reused for at most a second, and dropped on every
  // policy change this replica hears (a plain subscription: every replica).
  const authorizer = new CachingAuthorizer(rasAuthorizer);
  const policyChanges = await dropOnPolicyChange(bus.nc, authorizer);
  const runtime = await (async (): Promise<WorkloadRuntime> => {
    switch (config.LATCHKEY_RUNTIME) {
      case 'noop':
        return new NoopRuntime();
      case 'kubernetes': {
        // Loaded only here: the Kubernetes client is large, and most deployers run processes.
        const { KubernetesRuntime, loadKubeConfig } = await import('./adapters/kubernetes-runtime.js');
        return new KubernetesRuntime({
          kubeConfig: loadKubeConfig(config.LATCHKEY_KUBECONFIG),
          defaultImage: config.LATCHKEY_K8S_DEFAULT_IMAGE,
          namespacePrefix: config.LATCHKEY_K8S_NAMESPACE_PREFIX,
          logger: log,
          redactor,
          maxLineBytes: config.LATCHKEY_OUTPUT_LINE_MAX_BYTES,
        });
      }
      default: {
        const isolation = await prepareIsolation({
          mode: config.LATCHKEY_PROCESS_ISOLATION,
          // As root on Debian, bubblewrap is installed when missing (as nats-server is by latchkey up).
          bwrap:
            config.LATCHKEY_PROCESS_ISOLATION === 'sandbox'
              ? await ensureBubblewrapBinary({ log: (line) => log.info(line) }).catch((err: unknown) => {
                  log.warn('bubblewrap is not available', { err });
                  return undefined;
                })
              : undefined,
          workDir: config.LATCHKEY_WORK_DIR,
          probeIds: { uid: config.LATCHKEY_SANDBOX_UID_RANGE.first, gid: config.LATCHKEY_SANDBOX_UID_RANGE.first },
        });
        if (isolation.kind === 'unavailable')
          log.error(`process runtime: every deployment is refused: ${isolation.reason}`);
        else if (isolation.kind === 'none') log.warn(`process runtime: ${isolation.warning}`);
        else
          log.info('process runtime: workloads run sandboxed', {
            bwrap: isolation.bwrap,
            perDomainUid: isolation.asRoot,
          });
        return new ProcessRuntime({
          workDir: config.LATCHKEY_WORK_DIR,
          logger: log,
          redactor,
          maxLineBytes: config.LATCHKEY_OUTPUT_LINE_MAX_BYTES,
          isolation,
          identities: new PostgresSandboxIdentities(pool, config.LATCHKEY_SANDBOX_UID_RANGE),
        });
      }
    }
  })();
  if (config.LATCHKEY_RUNTIME === 'noop')
    log.warn('LATCHKEY_RUNTIME=noop: workloads are recorded as deployed but nothing runs');
  const workloadRepo = new PostgresWorkloadRepo(pool, sign);
  const workloads = new WorkloadService({
    repo: workloadRepo,
    authorizer,
    runtime,
    sealKeys: new Map([[sealKey.kid, sealKey]]),
    runner: config.LATCHKEY_REPLICA_ID,
    logger: log,
    onEvents: () => relay.kick(),
    planner: new NatsResolutionPlanner(bus.nc, sign),
    outputQuotaBytes: config.LATCHKEY_OUTPUT_QUOTA_BYTES,
  });
  const outputRetention = new PeriodicTask({
    name: 'output retention',
    intervalMs: 3_600_000,
    run: async () => {
      const n = await sweepOutput(workloadRepo, config.LATCHKEY_OUTPUT_RETENTION_DAYS, new Date());
      if (n > 0) log.info('deleted workload output past its retention', { lines: n });
    },
    logger: log,
  });
  const references = new ReferenceIndexService({ index: new PostgresReferenceIndex(pool) });
  // Redeploy policies: the stale consumer acts at once when it may, the scan
  // (one replica at a time) when a cooldown ends, a window opens or a slot frees.
  const autoRedeploy = new AutoRedeployService({
    redeploys: new PostgresRedeployRepo(pool, sign),
    workloads: workloadRepo,
    authorizer,
    logger: log,
    onEvents: () => relay.kick(),
    cooldownMs: config.LATCHKEY_REDEPLOY_COOLDOWN_S * 1000,
  });
  const redeployScan = new PeriodicTask({
    name: 'redeploy scan',
    intervalMs: config.LATCHKEY_REDEPLOY_SCAN_INTERVAL_S * 1000,
    run: () => autoRedeploy.scan(),
    logger: log,
  });
  const stopCheck = new PeriodicTask({
    name: 'running deployments check',
    intervalMs: config.LATCHKEY_STOP_CHECK_INTERVAL_S * 1000,
    run: async () => {
      await workloads.reconcileStops();
      await workloads.reconcileRunning();
    },
    logger: log,
  });
  const runners = [
    new ConsumerRunner({
      js: bus.js,
      stream: STREAM_RESOLVED,
      durable: RESOLVED_CONSUMER,
      handler: resolvedConsumer(workloads),
      logger: log,
    }),
    new ConsumerRunner({
      js: bus.js,
      stream: STREAM_EVENTS,
      durable: RESOLUTION_FAILED_CONSUMER,
      handler: resolutionFailedConsumer(workloads),
      logger: log,
    }),
    new ConsumerRunner({
      js: bus.js,
      stream: STREAM_EVENTS,
      durable: SECRET_CHANGED_CONSUMER,
      handler: secretChangedConsumer(workloads),
      logger: log,
    }),
    new ConsumerRunner({
      js: bus.js,
      stream: STREAM_EVENTS,
      durable: RESOLUTION_RETRYING_CONSUMER,
      handler: resolutionRetryingConsumer(workloads),
      logger: log,
    }),
    new ConsumerRunner({
      js: bus.js,
      stream: STREAM_EVENTS,
      durable: WORKLOAD_STALE_CONSUMER,
      handler: workloadStaleConsumer(autoRedeploy, (inMs) => redeployScan.kick(inMs)),
      logger: log,
    }),
  ];
  // Every replica hears every `deployed` event (plain subscription, not the
  // shared consumer), to stop the older deployment of a workload it runs.
  const deployedSub = bus.nc.subscribe('latchkey.workload.deployed.>', {
    callback: (err, msg) => {
      if (err) return;
      try {
        const ev = JSON.parse(new TextDecoder().decode(msg.data)) as WorkloadOutcome;
        // A redeploy slot may have freed up.
        redeployScan.kick(1000);
        void workloads
          .onDeployed(ev)
          .catch((e: unknown) => log.warn('could not stop a replaced deployment', { err: e }));
      } catch {
        log.warn('malformed deployed event', { subject: msg.subject });
      }
    },
  });

  const stopSub = subscribeStopRequests(bus.nc, workloads, log);

  const server = createServer({
    service: 'deployer',
    logger: log,
    authenticate: await identityAuthenticator(config, transport.serviceTokens && { services: transport.serviceTokens }),
    tls: transport.tls,
  });
  server.addService<DeployerServiceServer>(DeployerServiceService, deployerHandlers(workloads));
  server.addService<DeployerInternalServer>(
    DeployerInternalService,
    deployerInternalHandlers(references),
    deployerInternalCallers,
  );
  const port = await server.listen(config.LATCHKEY_SERVICE_HOST, config.LATCHKEY_GRPC_PORT);
  relay.start();
  // What an earlier run of this replica left recorded as running, before anything new starts here.
  await workloads
    .reconcileRunning()
    .catch((err: unknown) =>
      log.warn('could not compare the deployments recorded here with what runs; the stop check tries again', { err }),
    );
  for (const r of runners) await r.start();
  redeployScan.start();
  stopCheck.start();
  outputRetention.start(60_000);
  server.setServing(true);
  return {
    port,
    async stop() {
      await server.shutdown();
      deployedSub.unsubscribe();
      stopSub.unsubscribe();
      await redeployScan.stop();
      await stopCheck.stop();
      await outputRetention.stop();
      for (const r of runners) await r.stop();
      await workloads.stopAll();
      await relay.stop();
      await relay.publishBatch().catch(() => 0);
      policyChanges.stop();
      rasAuthorizer.close();
      await bus.drain();
      await pool.end();
    },
  };
});
