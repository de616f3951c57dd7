import { randomUUID } from 'node:crypto';
import { unavailable } from '@latchkey/errors';
import {
  planPayload,
  planSubject,
  runtimeReadPayload,
  runtimeReadSubject,
  type PlanReply,
  type PlanRequest,
  type RuntimeReadReply,
  type RuntimeReadRequest,
} from '@latchkey/events';
import type { NatsConnection } from 'nats';
import type { ResolutionPlanner, RuntimeValueReader } from '../domain/ports.js';
import type { DeployerSigner } from './postgres-deployment-store.js';

/**
 * Asks a resolver (one of the queue group) over NATS request/reply. The
 * request carries references, never values; so does the reply, but for a
 * connection test's values sealed to the deployers' key. Each request
 * gets a random id and the time, and is signed with the deployers' key: a
 * resolver answers no plan request it cannot attribute to a deployer.
 */
export class NatsResolutionPlanner implements ResolutionPlanner {
  constructor(
    private readonly nc: NatsConnection,
    private readonly sign: DeployerSigner,
  ) {}

  async plan(request: PlanRequest, timeoutMs: number): Promise<PlanReply> {
    // A connection test names its own id (its values are sealed for it); the others get a random one.
    const stamped: PlanRequest = {
      ...request,
      requestId: request.requestId ?? randomUUID(),
      issuedAt: new Date().toISOString(),
    };
    const signed: PlanRequest = { ...stamped, signature: this.sign(planPayload(stamped)) };
    const data = await askResolver(this.nc, planSubject(request.domain), JSON.stringify(signed), timeoutMs);
    return JSON.parse(new TextDecoder().decode(data)) as PlanReply;
  }
}

/**
 * Asks a resolver for one reference of a running deployment (a runtime
 * read), signed like a plan request. The reply carries the value sealed to
 * the deployers' key for this request only, or a code and a reason.
 */
export class NatsRuntimeValueReader implements RuntimeValueReader {
  constructor(
    private readonly nc: NatsConnection,
    private readonly sign: DeployerSigner,
  ) {}

  async read(request: RuntimeReadRequest, timeoutMs: number): Promise<RuntimeReadReply> {
    const signed: RuntimeReadRequest = { ...request, signature: this.sign(runtimeReadPayload(request)) };
    const data = await askResolver(this.nc, runtimeReadSubject(request.domain), JSON.stringify(signed), timeoutMs);
    return JSON.parse(new TextDecoder().decode(data)) as RuntimeReadReply;
  }
}

/** One request to the resolvers' queue group; no answer becomes a retryable LatchkeyError saying why. */
async function askResolver(nc: NatsConnection, subject: string, body: string, timeoutMs: number): Promise<Uint8Array> {
  try {
    return (await nc.request(subject, body, { timeout: timeoutMs })).data;
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
}
