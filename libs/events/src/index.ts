export * from './subjects.js';
export * from './event-types.js';
export * from './deployer-signature.js';
export * from './envelope.js';
export {
  ensureEventTables,
  enqueueEvents,
  claimEvent,
  OutboxRelay,
  publishEvent,
  MAX_EVENT_BYTES,
  eventBytes,
} from './outbox.js';
export type { BatchOutcome } from './outbox.js';
export * from './event-consumer.js';
export * from './names.js';
export * from './audit.js';
export * from './policy-changes.js';
export * from './resolution-plan.js';
export * from './runtime-read.js';
export * from './periodic-task.js';
export * from './bus-permissions.js';
export * from './bus-keys.js';
export * from './asyncapi.js';
// The AsyncAPI validator (ajv and its formats, some 150 modules) is for the tests that hold
// the bus to the document: `@latchkey/events/contract`, so that no service loads it.
