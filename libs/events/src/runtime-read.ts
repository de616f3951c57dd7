import type { DeployerSignature, ReferenceSpec, SealedValues, SourceType } from './event-types.js';

/** The audit action of a running workload's read of its own reference (the resolver records it, the deployer its refusals). */
export const RUNTIME_READ_ACTION = 'secret.runtime_read';

/**
 * A running workload's read of one reference of its own deployment (issue
 * 15, "secrets from inside a workload"), asked of the resolver by the
 * deployer over NATS request/reply (core NATS: no stream keeps it), once the
 * deployer has checked the workload's token and that the reference is one
 * of that deployment's. The resolver authorizes it with ras as the deploying
 * principal, exactly as for the deployment, reads the current version, audits
 * the read (before the value leaves) and seals the value to the deployers'
 * key, bound to `runtimeReadBinding(requestId)`.
 */
export interface RuntimeReadRequest {
  domain: string;
  workload: string;
  deploymentId: string;
  /** Who deployed it, and their groups then: the read is decided and recorded as theirs. */
  principal: string;
  groups?: string[];
  reference: ReferenceSpec;
  /** Random per request, and when it was signed (ISO 8601): a request is answered only shortly after. */
  requestId?: string;
  issuedAt?: string;
  /** The deployer's signature over every field above (runtimeReadPayload); the resolver answers none without it. */
  signature?: DeployerSignature;
}

export type RuntimeReadReply =
  | {
      ok: true;
      key: string;
      sourceType: SourceType;
      /** The scope that answered (a domain or `global`) or the Vault integration id. */
      scope: string;
      version: number;
      /** The value, sealed to the deployers' key with runtimeReadBinding(requestId) as associated data. */
      sealed: SealedValues;
    }
  | { ok: false; code: string; message: string };

export const runtimeReadSubject = (domain: string): string => `latchkey.resolver.runtime_read.${domain}`;
/** What the resolvers subscribe to, as one queue group. */
export const RUNTIME_READ_SUBJECTS = 'latchkey.resolver.runtime_read.*';

/** The associated data a runtime read's value is sealed with: it opens for that request only (not as a deployment's). */
export const runtimeReadBinding = (requestId: string): string => `runtime_read:${requestId}`;
