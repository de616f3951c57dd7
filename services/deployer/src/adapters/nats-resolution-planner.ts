import { randomUUID } from 'node:crypto';
import { unavailable } from '@latchkey/errors';
import { planPayload, planSubject, type PlanReply, type PlanRequest } from '@latchkey/events';
import type { NatsConnection } from 'nats';
import type { ResolutionPlanner } from '../domain/ports.js';
import type { DeployerSigner } from './postgres-deployment-store.js';

/**
 * Asks a resolver (one of the queue group) over NATS request/reply. The
 * request carries references, never values; so does the reply. Each request
 * gets a random id and the time, and is signed with the deployers' key: a
 * resolver answers no plan request it cannot attribute to a deployer.
 */
export class NatsResolutionPlanner implements ResolutionPlanner {
  constructor(
    private readonly nc: NatsConnection,
    private readonly sign: DeployerSigner,
  ) {}

  async plan(request: PlanRequest, timeoutMs: number): Promise<PlanReply> {
    const stamped: PlanRequest = { ...request, requestId: randomUUID(), issuedAt: new Date().toISOString() };
    const signed: PlanRequest = { ...stamped, signature: this.sign(planPayload(stamped)) };
    let data: Uint8Array;
    try {
      data = (await this.nc.request(planSubject(request.domain), JSON.stringify(signed), { timeout: timeoutMs })).data;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '503') {
        throw unavailable('resolver.unavailable', 'no resolver is running to answer: start the resolver and try again');
      }
      if (code === 'TIMEOUT') {
        throw unavailable(
          'resolver.timeout',
          `the resolver did not answer within ${Math.round(timeoutMs / 100) / 10} s: try again`,
        );
      }
      throw unavailable('resolver.unavailable', `the resolver could not be asked over NATS (${code ?? 'error'})`, err);
    }
    return JSON.parse(new TextDecoder().decode(data)) as PlanReply;
  }
}
