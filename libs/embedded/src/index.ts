export { InfraError, isInfraError } from './infra-errors.js';
export type { InfraErrorCode } from './infra-errors.js';
export { assertPortFree, findFreePort, isPortFree, startOnFreePort } from './free-port.js';
export { ensureNatsServerBinary } from './nats-server-binary.js';
export type { EnsureNatsServerBinaryOptions } from './nats-server-binary.js';
export { startNatsServer } from './nats-server-process.js';
export type { NatsServerHandle, StartNatsServerOptions } from './nats-server-process.js';
export {
  JETSTREAM_LEADER_LINE,
  MAX_NATS_NODES,
  natsClusterConfig,
  natsClusterUrls,
  planNatsCluster,
  writeNatsNodeConfig,
} from './nats-cluster.js';
export type { NatsClusterNode, NatsClusterPlan } from './nats-cluster.js';
export { DEFAULT_SYSTEM_DIR, startPostgres } from './postgres-process.js';
export type { PostgresHandle, StartPostgresOptions } from './postgres-process.js';
export { ensurePostgresLibSymlinks } from './postgres-symlinks.js';
export { forEachLine, LineTail } from './line-splitter.js';
export { ensureAptProvided, ensureSystemBinary, locateSystemBinary } from './system-binary.js';
export type { AptProvided, EnsureSystemBinaryOptions, SystemBinary } from './system-binary.js';
export {
  ensureSystemPythonModule,
  PYTHON_HVAC,
  PYTHON_KUBERNETES,
  SYSTEM_PYTHON,
  type SystemPythonModule,
} from './python-module.js';
export { BUBBLEWRAP, ensureBubblewrapBinary } from './bubblewrap-binary.js';
export { CHROMIUM, ensureChromiumBinary } from './chromium-binary.js';
export { PROMETHEUS, ensurePrometheusBinary } from './prometheus-binary.js';
export { chownRecursive, firstUntraversableAncestor, runningAsRoot } from './postgres-os-user.js';
export type { OsUserIds } from './postgres-os-user.js';
