export { InfraError, isInfraError } from './infra-errors.js';
export type { InfraErrorCode } from './infra-errors.js';
export {
  assertPortFree,
  ephemeralPortRange,
  findFreePort,
  isPortFree,
  logSaysPortTaken,
  portTakenWhileStarting,
  startOnFreePort,
} from './free-port.js';
export { ensureNatsServerBinary } from './nats-server-binary.js';
export type { EnsureNatsServerBinaryOptions } from './nats-server-binary.js';
export { startNatsServer } from './nats-server-process.js';
export type { NatsServerHandle, StartNatsServerOptions } from './nats-server-process.js';
export { startPostgres } from './postgres-process.js';
export type { PostgresHandle, StartPostgresOptions } from './postgres-process.js';
export { ensurePostgresLibSymlinks } from './postgres-symlinks.js';
export { forEachLine, LineTail } from './line-splitter.js';
