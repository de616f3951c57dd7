import type { PeriodicTask } from '@latchkey/events';
import type { Service } from '@latchkey/service';
import type { DeployerConfig } from '../config.js';
import { sweepOutput } from '../domain/runner/output-log.js';
import type { WorkloadParts } from './workload-parts.js';

/**
 * The deployer's periodic tasks (started once the server listens): the
 * redeploy scan, the check of running deployments, the output retention.
 * Returns the redeploy scan, which the consumers bring forward.
 */
export function schedulePeriodicJobs(
  service: Service<DeployerConfig>,
  { workloads, autoRedeploy, workloadRepo }: WorkloadParts,
): { redeployScan: PeriodicTask } {
  const { config, log } = service;
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
  return { redeployScan };
}
