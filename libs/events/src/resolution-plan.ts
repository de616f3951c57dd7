import type { DeployerSignature, ReferenceSpec, SealedValues, SourceType } from './event-types.js';

/**
 * A resolution without a deployment, asked of the resolver by the deployer
 * over NATS request/reply (core NATS: no stream keeps it).
 *
 * - `check` (workload apply): may the principal use each referenced key, and
 *   does it exist? Reads no value.
 * - `dry_run` (deploy --dry-run): the whole resolution: one batched ras check,
 *   the values read together and discarded inside the resolver. The reply
 *   says per reference which scope (or Vault integration) and version would
 *   be used. No value is in it, and nothing is published.
 * - `connection_test` (workload test of a STORAGE_CONFIG): the whole
 *   resolution, as a dry run, audited as a connection test; when every
 *   reference resolved, the reply also carries the values sealed to the
 *   deployers' key, bound to `connectionTestBinding(requestId)`, for the one
 *   signed request the deployer makes with them. Nothing is published.
 */
export interface PlanRequest {
  mode: 'check' | 'dry_run' | 'connection_test';
  domain: string;
  workload: string;
  principal: string;
  groups?: string[];
  references: ReferenceSpec[];
  /** Random per request, and when it was signed (ISO 8601): a request is answered only shortly after. */
  requestId?: string;
  issuedAt?: string;
  /** The deployer's signature over every field above (planPayload); the resolver answers none without it. */
  signature?: DeployerSignature;
}

export interface PlannedReference {
  refId: string;
  key: string;
  sourceType: SourceType;
  ok: boolean;
  /** The scope that answered (a domain or `global`) or the Vault integration id; empty when not ok. */
  scope: string;
  /** The version that would be used; 0 when not known (a Vault key on a check, or not ok). */
  version: number;
  /** A `${secrets.KEY}` that the domain answers while global scope holds the key too. */
  shadowedGlobal: boolean;
  /** Set when not ok: a stable code and a message, never a value. */
  code: string;
  message: string;
  /** A backend was unavailable: a deployment would wait and retry it. */
  retryable: boolean;
}

export type PlanReply =
  | {
      ok: true;
      references: PlannedReference[];
      warnings: string[];
      /** connection_test only, when every reference resolved: `{refId: value}` as JSON, sealed. */
      sealed?: SealedValues;
    }
  | { ok: false; code: string; message: string };

/** The associated data a connection test's values are sealed with: they open for that request only. */
export const connectionTestBinding = (requestId: string): string => `connection_test:${requestId}`;

export const planSubject = (domain: string): string => `latchkey.resolver.plan.${domain}`;
/** What the resolvers subscribe to, as one queue group. */
export const PLAN_SUBJECTS = 'latchkey.resolver.plan.*';
