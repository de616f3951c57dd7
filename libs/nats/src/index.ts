export type { Bus, BusAuth, ConnectBusOptions, NatsConfig } from './connection.js';
export { MAX_NATS_REPLICAS, natsHostsOf, natsReplicas, natsUrlList, parseNatsUrls } from './nats-urls.js';
export { busConnectionOptions, connectBus, NATS_CONFIG, readBusAuth } from './connection.js';
export type {
  BusIdentity,
  BusPermissions,
  BusTrust,
  MintOptions,
  ServerAuthOptions,
  SubscriberSigner,
} from './bus-auth.js';
export {
  checkBusTrust,
  generateBusTrust,
  generateUserSeed,
  mintServiceCreds,
  mintSubscriberCreds,
  serverAuthConfig,
  subscriberSignerOf,
} from './bus-auth.js';
export type { StreamSpec, ConsumerSpec } from './streams.js';
export { ensureStream, ensureConsumer } from './streams.js';
export type { MessageHandler, ConsumerRunnerOptions, DurableConsumer } from './consumer-runner.js';
export { ConsumerRunner, retryDelayMs } from './consumer-runner.js';
