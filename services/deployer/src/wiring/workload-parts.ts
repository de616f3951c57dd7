import { mkdir, readFile } from 'node:fs/promises';
import { readSealKeyFile, readSigningKeyFile, signPayload } from '@latchkey/crypto';
import type { Redactor } from '@latchkey/logger';
import type { Service } from '@latchkey/service';
import { NatsResolutionPlanner, NatsRuntimeValueReader } from '../adapters/nats-resolution-planner.js';
import { PostgresRedeployRepo } from '../adapters/postgres-redeploy-repo.js';
import { PostgresReferenceIndex } from '../adapters/postgres-reference-index.js';
import { PostgresWorkloadRepo } from '../adapters/postgres-workload-repo.js';
import { PostgresWorkloadTokens } from '../adapters/postgres-workload-tokens.js';
import { S3StorageProbe } from '../adapters/s3-storage-probe.js';
import type { DeployerConfig } from '../config.js';
import { AutoRedeployService } from '../domain/staleness/auto-redeploy-service.js';
import { ReferenceIndexService } from '../domain/reference-index-service.js';
import { RuntimeReadService } from '../domain/runtime/runtime-read-service.js';
import { WorkloadService } from '../domain/workload-service.js';
import { createRuntime } from '../runtime-factory.js';

/** The deployer's domain, built from what the service bootstrap made. */
export interface WorkloadParts {
  workloadRepo: PostgresWorkloadRepo;
  workloads: WorkloadService;
  runtimeReads: RuntimeReadService;
  autoRedeploy: AutoRedeployService;
  references: ReferenceIndexService;
}

/**
 * Keys, adapters and domain services of the workload side: the workloads
 * (with their runtime), a running workload's reads of its references, the
 * redeploy policies and the reference index.
 */
export async function buildWorkloadParts(service: Service<DeployerConfig>, redactor: Redactor): Promise<WorkloadParts> {
  const { config, log, pool, bus, relay, authorizer, metrics } = service;
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
  const references = new ReferenceIndexService({ index: new PostgresReferenceIndex(pool) });
  return { workloadRepo, workloads, runtimeReads, autoRedeploy, references };
}
