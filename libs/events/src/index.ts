export { ALL, STREAM_EVENTS, STREAM_RESOLVED, STREAM_AUDIT, STREAMS, subjects, eventTypes } from './subjects.js';
export type {
  SourceType,
  ReferenceSpec,
  WorkloadDeploying,
  ResolvedVersion,
  SealedValues,
  WorkloadResolved,
  ReferenceFailure,
  WorkloadResolutionFailed,
  WorkloadResolutionRetrying,
  WorkloadOutcome,
  SecretChanged,
  SecretRotationDue,
  WorkloadStale,
  StaleWorkload,
  WorkloadStopRequested,
  DeployerSignature,
} from './event-types.js';
export { STALE_WORKLOADS_PER_EVENT } from './event-types.js';
export { deployingPayload, planPayload, runtimeReadPayload } from './deployer-signature.js';
export type { CloudEvent, OutgoingEvent } from './envelope.js';
export { decodeEvent, eventHeaders, newEventId } from './envelope.js';
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
export type { EventSubscription } from './event-consumer.js';
export { eventHandler, subscribeEvents } from './event-consumer.js';
export {
  checkDomainName,
  DOMAIN_NAME,
  SECRET_KEY,
  GLOBAL_SCOPE,
  INTEGRATION_ID,
  OBJECT_NAME,
  PRINCIPAL_ID,
} from './names.js';
export type { AuditRecord, AuditInput, AuditOutcome, AuditService } from './audit.js';
export { AUDIT_OUTCOMES, AUDIT_SERVICES, auditRecord, auditSubject, auditEvent, parseAuditRecord } from './audit.js';
export type { DecisionCache } from './policy-changes.js';
export { dropOnPolicyChange } from './policy-changes.js';
export type { PlanRequest, PlanReply, PlannedReference } from './resolution-plan.js';
export { connectionTestBinding, planSubject, PLAN_SUBJECTS } from './resolution-plan.js';
export type { RuntimeReadRequest, RuntimeReadReply } from './runtime-read.js';
export { runtimeReadBinding, runtimeReadSubject, RUNTIME_READ_ACTION, RUNTIME_READ_SUBJECTS } from './runtime-read.js';
export { PeriodicTask } from './periodic-task.js';
export type { BusService } from './bus-permissions.js';
export {
  BUS_SERVICES,
  DURABLES,
  KV_BUCKETS,
  PUBLIC_SUBJECTS,
  busIdentity,
  busPermissions,
  inboxPrefix,
  ownsStream,
  STREAM_OWNERS,
  subscriberPermissions,
} from './bus-permissions.js';
export type { BusKeyPaths } from './bus-keys.js';
export { busKeyPaths, ensureBusKeys, NATS_SERVER_CERT } from './bus-keys.js';
export type { PublicEvent } from './asyncapi.js';
export { asyncApiDocument, PUBLIC_EVENTS } from './asyncapi.js';
// The AsyncAPI validator (ajv and its formats, some 150 modules) is for the tests that hold
// the bus to the document: `@latchkey/events/contract`, so that no service loads it.
