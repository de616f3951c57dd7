import { signatureProblem, type SigningPublicKey } from '@latchkey/crypto';
import {
  auditRecord,
  deployingPayload,
  DOMAIN_NAME,
  GLOBAL_SCOPE,
  planPayload,
  runtimeReadPayload,
  type DeployerSignature,
  type PlanReply,
  type PlanRequest,
  type RuntimeReadReply,
  type RuntimeReadRequest,
  type WorkloadDeploying,
} from '@latchkey/events';
import type { AuditTrail } from './ports.js';
import { errorCode } from './resolution-audit.js';
import { unattributedDeploying, unattributedRequest, type RequestRefusal } from './resolution-errors.js';

export interface AttributionDeps {
  /** The deployers' signing public keys, by key id (more than one while the key is rotated). */
  keys: ReadonlyMap<string, SigningPublicKey>;
  /** Where the record of each refusal goes. */
  audit: AuditTrail;
  logger: { warn(msg: string, fields?: Record<string, unknown>): void };
  /** How far a plan request's time may be from now, either way; default 5 minutes. */
  maxPlanAgeMs?: number;
  /** Milliseconds since the epoch; tests inject one. */
  now?: () => number;
}

const clip = (v: unknown, max = 80): string => {
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
};

/**
 * The resolver acts only on what it can attribute to a deployer: a deploying
 * event or plan request signed with the deployers' Ed25519 key over every
 * field the resolver acts on (deployingPayload, planPayload). Anything else
 * is refused before any permission check or read, logged and audited
 * (action bus.rejected, outcome deny; never a value).
 */
export class DeployerAttribution {
  private readonly maxPlanAgeMs: number;

  constructor(private readonly deps: AttributionDeps) {
    this.maxPlanAgeMs = deps.maxPlanAgeMs ?? 5 * 60_000;
  }

  /** Returns when `ev` (delivered as event `eventId`) is the deployer's; else throws a permanent error after recording why. */
  async deploying(eventId: string, ev: WorkloadDeploying): Promise<void> {
    const problem = signatureProblem(this.deps.keys, deployingPayload(eventId, ev), ev.signature);
    if (problem === undefined) return;
    await this.#refused(
      problem,
      ev.domain,
      `workload.deploying:deployment ${clip(ev.deploymentId)}`,
      eventId,
      ev.principal,
    );
    throw unattributedDeploying(clip(eventId), problem);
  }

  /** undefined when `req` is the deployer's; else the reply that refuses it (recorded). */
  plan(req: PlanRequest): Promise<PlanReply | undefined> {
    return this.#requestRefusal(
      req,
      planPayload(req),
      'plan request',
      `plan.${clip(req.mode, 20)}:workload ${clip(req.workload)}`,
    );
  }

  /** undefined when the runtime read `req` is the deployer's; else the reply that refuses it (recorded). */
  runtimeRead(req: RuntimeReadRequest): Promise<RuntimeReadReply | undefined> {
    return this.#requestRefusal(
      req,
      runtimeReadPayload(req),
      'runtime read',
      `runtime_read:deployment ${clip(req.deploymentId)}`,
    );
  }

  /** undefined when the request (its signed `payload`) is the deployer's, recently signed; else its refusal, recorded against `resource`. */
  async #requestRefusal(
    req: PlanRequest | RuntimeReadRequest,
    payload: Buffer,
    what: 'plan request' | 'runtime read',
    resource: string,
  ): Promise<RequestRefusal | undefined> {
    const problem = this.#freshSignedProblem(payload, req.signature, req.requestId, req.issuedAt);
    if (problem === undefined) return undefined;
    await this.#refused(
      problem,
      req.domain,
      resource,
      typeof req.requestId === 'string' ? req.requestId : '',
      req.principal,
    );
    return unattributedRequest(what, problem);
  }

  /** Why a request is not the deployer's, recently signed (a plan request, a runtime read); undefined when it is. */
  #freshSignedProblem(
    payload: Buffer,
    signature: DeployerSignature | undefined,
    requestId: unknown,
    issuedAt: unknown,
  ): string | undefined {
    const problem = signatureProblem(this.deps.keys, payload, signature);
    if (problem !== undefined) return problem;
    const at = typeof issuedAt === 'string' ? Date.parse(issuedAt) : NaN;
    const now = (this.deps.now ?? Date.now)();
    if (typeof requestId !== 'string' || requestId === '') return 'it has no request id';
    if (Number.isNaN(at) || Math.abs(now - at) > this.maxPlanAgeMs) {
      return `it was signed at ${clip(issuedAt)}, more than ${this.maxPlanAgeMs / 1000} s from now (a replayed request, or clocks apart)`;
    }
    return undefined;
  }

  async #refused(problem: string, domain: unknown, resource: string, requestId: string, principal: unknown) {
    const recordDomain = typeof domain === 'string' && DOMAIN_NAME.test(domain) ? domain : GLOBAL_SCOPE;
    this.deps.logger.warn('bus message refused: not attributable to the deployer', {
      resource,
      requestId: requestId.slice(0, 128),
      reason: problem,
    });
    try {
      await this.deps.audit.write(
        auditRecord({
          service: 'resolver',
          // Who sent it is exactly what is not known.
          actor: 'bus:unattributed',
          action: 'bus.rejected',
          domain: recordDomain,
          resource,
          outcome: 'deny',
          reason: `${problem} (it names principal ${clip(principal)})`,
          requestId,
        }),
      );
    } catch (err) {
      // Refused either way; the log line above says what.
      this.deps.logger.warn('audit record of a refused bus message not written', { code: errorCode(err) });
    }
  }
}
