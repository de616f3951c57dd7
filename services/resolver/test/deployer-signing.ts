// The deployer's side of attribution, for the resolver's tests: a signing
// key pair, and deploying events and plan requests signed as the deployer
// signs them (postgres-workload-repo.ts, nats-resolution-planner.ts).
import { randomUUID } from 'node:crypto';
import { generateSigningKeyPair, signPayload, type SigningKeyPair } from '@latchkey/crypto';
import { deployingPayload, planPayload, type PlanRequest, type WorkloadDeploying } from '@latchkey/events';
import { silentLogger } from '@latchkey/logger';
import { DeployerAttribution } from '../src/domain/deployer-attribution.js';
import type { AuditTrail } from '../src/domain/ports.js';

export interface DeployerSigning {
  pair: SigningKeyPair;
  /** What a resolver trusting only this key accepts. */
  attribution(
    audit?: AuditTrail,
    logger?: { warn(msg: string, fields?: Record<string, unknown>): void },
  ): DeployerAttribution;
  deploying(eventId: string, ev: WorkloadDeploying): WorkloadDeploying;
  plan(req: PlanRequest): PlanRequest;
}

export function deployerSigning(pair: SigningKeyPair = generateSigningKeyPair()): DeployerSigning {
  return {
    pair,
    attribution: (audit = { write: () => Promise.resolve() }, logger = silentLogger) =>
      new DeployerAttribution({ keys: new Map([[pair.kid, pair]]), audit, logger }),
    deploying: (eventId, ev) => ({ ...ev, signature: signPayload(pair, deployingPayload(eventId, ev)) }),
    plan: (req) => {
      const stamped = { ...req, requestId: randomUUID(), issuedAt: new Date().toISOString() };
      return { ...stamped, signature: signPayload(pair, planPayload(stamped)) };
    },
  };
}
