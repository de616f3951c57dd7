export type {
  DeploymentOutcome,
  OutboxLag,
  RedeployTrigger,
  ReferenceSource,
  ResolutionResult,
  VaultRequestSample,
} from './service-metrics.js';
export { ServiceMetrics } from './service-metrics.js';
export type { MetricsServer } from './metrics-server.js';
export { startMetricsServer } from './metrics-server.js';
