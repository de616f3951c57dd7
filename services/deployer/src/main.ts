import { Redactor } from '@latchkey/logger';
import {
  DeployerInternalService,
  DeployerServiceService,
  type DeployerInternalServer,
  type DeployerServiceServer,
} from '@latchkey/proto';
import { serve } from '@latchkey/service';
import { loadDeployerConfig } from './config.js';
import { deployerConsumers } from './transport/events/deployer-consumers.js';
import { deployedOutcomes, stopRequests } from './transport/events/replica-subscriptions.js';
import { deployerHandlers } from './transport/grpc/deployer-handler.js';
import { deployerInternalCallers, deployerInternalHandlers } from './transport/grpc/deployer-internal-handler.js';
import { schedulePeriodicJobs } from './wiring/periodic-jobs.js';
import { buildWorkloadParts } from './wiring/workload-parts.js';

// One redactor for the service's log and its workloads' output: values are
// masked in both while a deployment holds them.
const redactor = new Redactor();

serve({
  name: 'deployer',
  loadConfig: loadDeployerConfig,
  redactor,
  database: (c) => ({ url: c.LATCHKEY_DATABASE_URL, migrations: new URL('../../migrations', import.meta.url) }),
  ras: (c) => c.LATCHKEY_RAS_ADDR,
  async build(service) {
    const { config, log, server } = service;
    // Config -> parts: keys, adapters, the runtime, the domain services.
    const parts = await buildWorkloadParts(service, redactor);
    const { workloads, autoRedeploy, runtimeReads, references } = parts;
    if (!config.LATCHKEY_SECRETS_V2) {
      log.info('Secrets V2 is off: only ${secrets.KEY} placeholders (global scope); structured references are refused');
    }
    const { redeployScan } = schedulePeriodicJobs(service, parts);

    // Register: the shared durable consumers, what every replica hears, the gRPC services.
    await service.consume(deployerConsumers(workloads, autoRedeploy, (inMs) => redeployScan.kick(inMs)));
    service.subscribe(deployedOutcomes(workloads, () => redeployScan.kick(1000)));
    service.subscribe(stopRequests(workloads));
    server.addService<DeployerServiceServer>(DeployerServiceService, deployerHandlers(workloads));
    server.addService<DeployerInternalServer>(
      DeployerInternalService,
      deployerInternalHandlers(references, runtimeReads),
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
