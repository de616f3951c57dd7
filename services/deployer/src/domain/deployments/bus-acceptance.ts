import { auditRecord, DOMAIN_NAME, GLOBAL_SCOPE } from '@latchkey/events';
import type { Logger } from '@latchkey/logger';
import type { WorkloadRepo } from '../ports.js';
import type { BusOrigin, RecordedDeployment } from './resolution-check.js';
import { busRejected } from './deployment-errors.js';

export interface BusAcceptanceDeps {
  repo: Pick<WorkloadRepo, 'recordedDeployment' | 'recordAudit'>;
  logger: Logger;
  onEvents: () => void;
}

/**
 * The deployer's check of a bus answer against the deployment it names, and
 * its audit record of one it refuses.
 */
export class BusAcceptance {
  constructor(private readonly deps: BusAcceptanceDeps) {}

  /**
   * Throws a permanent error (the consumer terminates the message) when
   * `check` finds that the event does not answer the deployment it names,
   * after logging and auditing the refusal.
   */
  async acceptOnly(
    what: string,
    eventId: string,
    deploymentId: unknown,
    claimedDomain: unknown,
    origin: BusOrigin,
    check: (d: RecordedDeployment | undefined) => string | undefined,
  ): Promise<void> {
    const id = String(deploymentId);
    const d = await this.deps.repo.recordedDeployment(id);
    const problem = check(d);
    if (problem === undefined) return;
    const domain =
      d?.domain ??
      (typeof claimedDomain === 'string' && DOMAIN_NAME.test(claimedDomain) ? claimedDomain : GLOBAL_SCOPE);
    await this.audited(what, eventId, id, domain, origin, problem);
    throw busRejected(what, eventId, problem);
  }

  /** The deployer's audit record (and log line) of a bus message it refused: ids, keys and reasons, never a value. */
  async audited(
    what: string,
    eventId: string,
    deploymentId: string,
    domain: string,
    origin: BusOrigin,
    problem: string,
  ): Promise<void> {
    await this.deps.repo.recordAudit(
      auditRecord({
        service: 'deployer',
        // Who published it is not known: the source is what the message claims.
        actor: `bus:${origin.source || 'unknown'}`,
        action: 'bus.rejected',
        domain,
        resource: `${what}:deployment ${deploymentId}`,
        outcome: 'deny',
        reason: problem,
        requestId: eventId,
      }),
    );
    this.deps.onEvents();
    this.deps.logger.warn('bus message refused: it does not match the deployment it names', {
      event: what,
      eventId: eventId.slice(0, 128),
      deploymentId: deploymentId.slice(0, 80),
      domain,
      reason: problem,
      ...(origin.subject ? { subject: origin.subject.slice(0, 200) } : {}),
    });
  }
}
