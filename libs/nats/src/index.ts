export type { Bus } from './connection.js';
export { connectBus } from './connection.js';
export type { StreamSpec, ConsumerSpec } from './streams.js';
export { ensureStream, ensureConsumer } from './streams.js';
export type { MessageHandler, ConsumerRunnerOptions } from './consumer-runner.js';
export { ConsumerRunner, retryDelayMs } from './consumer-runner.js';
