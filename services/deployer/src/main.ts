import { mkdir, readFile } from 'node:fs/promises';
import { readSealKeyFile, readSigningKeyFile, signPayload } from '@latchkey/crypto';
import { Redactor } from '@latchkey/logger';
import {
  DeployerInternalService,
  DeployerServiceService,
  type DeployerInternalServer,
  type DeployerServiceServer,
} from '@latchkey/proto';
import { serve } from '@latchkey/service';
import { NatsResolutionPlanner, NatsRuntimeValueReader } from './adapters/nats-resolution-planner.js';
import { S3StorageProbe } from './adapters/s3-storage-probe.js';
import { PostgresRedeployRepo } from './adapters/postgres-redeploy-repo.js';
import { PostgresReferenceIndex } from './adapters/postgres-reference-index.js';
import { PostgresWorkloadRepo } from './adapters/postgres-workload-repo.js';
import { PostgresWorkloadTokens } from './adapters/postgres-workload-tokens.js';
import { loadDeployerConfig } from './config.js';
import { AutoRedeployService } from './domain/auto-redeploy-service.js';
import { ReferenceIndexService } from './domain/reference-index-service.js';
import { RuntimeReadService } from './domain/runtime/runtime-read-service.js';
import { sweepOutput } from './domain/output-log.js';
import { WorkloadService } from './domain/workload-service.js';
import { createRuntime } from './runtime-factory.js';
import { deployerConsumers } from './transport/events/deployer-consumers.js';
import { deployedOutcomes, stopRequests } from './transport/events/replica-subscriptions.js';
import { deployerHandlers } from './transport/grpc/deployer-handler.js';
import { deployerInternalCallers, deployerInternalHandlers } from './transport/grpc/deployer-internal-handler.js';

// One redactor for the service's log and its workloads' output: values are
// masked in both while a deployment holds them.
const redactor = new Redactor();

serve({
  name: 'deployer',
  loadConfig: loadDeployerConfig,
  redactor,
  database: (c) => ({ url: c.LATCHKEY_DATABASE_URL, migrations: new URL('../../migrations', import.meta.url) }),
  ras: (c) => c.LATCHKEY_RAS_ADDR,
  async build({ config, log, pool, bus, relay, authorizer, server, metrics, ...service }) {
    const sealKey = await readSealKeyFile(config.LATCHKEY_SEAL_PRIVATE_KEY_FILE);
    // Deploying events and plan requests are signed with it: the resolver acts on nothing else.
    const signingKey = await readSigningKeyFile(config.LATCHKEY_SIGNING_KEY_FILE);
    const sign = (payload: Buffer) => signPayload(signingKey, payload);
    await mkdir(config.LATCHKEY_WORK_DIR, { recursive: true, mode: 0o700 });
    const workloadRepo = new PostgresWorkloadRepo(pool, sign, metrics);
    // Secrets from inside a workload: each deployment's own token, the gateway's address and the CA to trust it with.
    const tokens = new PostgresWorkloadTokens(pool);
    const apiCaFile = config.LATCHKEY_WORKLOAD_API_CA_FILE ?? config.LATCHKEY_TLS_CA_FILE;
    const workloadApi = {
      tokens,
      ...(config.LATCHKEY_WORKLOAD_API_URL ? { url: config.LATCHKEY_WORKLOAD_API_URL } : {}),
      ...(apiCaFile ? { caPem: await readFile(apiCaFile, 'utf8') } : {}),
    };
    const workloads = new WorkloadService({
      repo: workloadRepo,
      authorizer,
      runtime: await createRuntime(config, { pool, logger: log, redactor }),
      sealKeys: new Map([[sealKey.kid, sealKey]]),
      runner: config.LATCHKEY_REPLICA_ID,
      logger: log,
      onEvents: () => relay.kick(),
      planner: new NatsResolutionPlanner(bus.nc, sign),
      outputQuotaBytes: config.LATCHKEY_OUTPUT_QUOTA_BYTES,
      workloadApi,
      secretsV2: config.LATCHKEY_SECRETS_V2,
      storageProbe: new S3StorageProbe(),
    });
    const runtimeReads = new RuntimeReadService({
      tokens,
      reader: new NatsRuntimeValueReader(bus.nc, sign),
      sealKeys: new Map([[sealKey.kid, sealKey]]),
      repo: workloadRepo,
      logger: log,
    });
    // Redeploy policies: the stale consumer acts at once when it may, the scan
    // (one replica at a time) when a cooldown ends, a window opens or a slot frees.
    const autoRedeploy = new AutoRedeployService({
      redeploys: new PostgresRedeployRepo(pool, sign, metrics),
      workloads: workloadRepo,
      authorizer,
      logger: log,
      onEvents: () => relay.kick(),
      cooldownMs: config.LATCHKEY_REDEPLOY_COOLDOWN_S * 1000,
      secretsV2: config.LATCHKEY_SECRETS_V2,
    });
    if (!config.LATCHKEY_SECRETS_V2) {
      log.info('Secrets V2 is off: only ${secrets.KEY} placeholders (global scope); structured references are refused');
    }
    const redeployScan = service.every('redeploy scan', config.LATCHKEY_REDEPLOY_SCAN_INTERVAL_S, () =>
      autoRedeploy.scan(),
    );
    service.every('running deployments check', config.LATCHKEY_STOP_CHECK_INTERVAL_S, async () => {
      await workloads.reconcileStops();
      await workloads.reconcileRunning();
    });
    const retention = async () => {
      const n = await sweepOutput(workloadRepo, config.LATCHKEY_OUTPUT_RETENTION_DAYS, new Date());
      if (n > 0) log.info('deleted workload output past its retention', { lines: n });
    };
    service.every('output retention', 3600, retention, 60_000);

    await service.consume(deployerConsumers(workloads, autoRedeploy, (inMs) => redeployScan.kick(inMs)));
    service.subscribe(deployedOutcomes(workloads, () => redeployScan.kick(1000)));
    service.subscribe(stopRequests(workloads));
    server.addService<DeployerServiceServer>(DeployerServiceService, deployerHandlers(workloads));
    server.addService<DeployerInternalServer>(
      DeployerInternalService,
      deployerInternalHandlers(new ReferenceIndexService({ index: new PostgresReferenceIndex(pool) }), runtimeReads),
      deployerInternalCallers,
    );
    // What an earlier run of this replica left recorded as running, before anything new starts here.
    service.beforeConsumers(async () => {
      await workloads.reconcileRunning().catch((err: unknown) => {
        log.warn('could not compare the deployments recorded here with what runs; the stop check tries again', { err });
      });
    });
    service.onStop(() => workloads.stopAll());
  },
});
