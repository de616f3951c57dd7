import type { AuthorizationQuestion, Authorizer, Decision } from '@latchkey/authz';
import type { CheckRequest } from '@latchkey/proto';
import { RasServiceClient } from '@latchkey/proto';
import { currentCall } from './call-context.js';
import { LatchkeyError } from '@latchkey/errors';
import { createClient, unary, type ClientIdentity } from './client.js';
import { rasUnavailable } from './ras-authorizer-errors.js';

/**
 * The question with the groups of the caller being served filled in: when a
 * question names no groups and its principal is the caller of the gRPC call
 * in progress (see currentCall), the caller's groups (from its token) are the
 * principal's. Questions about anyone else, or asked outside a call (an event
 * consumer), keep what they say: they must carry the groups themselves.
 */
export function withCallerGroups(q: AuthorizationQuestion): AuthorizationQuestion {
  if (q.groups !== undefined) return q;
  const caller = currentCall()?.principal;
  if (caller === undefined || caller.id !== q.principal || caller.groups.length === 0) return q;
  return { ...q, groups: caller.groups };
}

/** Authorizer over RasService gRPC, authenticated as the calling service. */
export class RasAuthorizer implements Authorizer {
  private readonly client: RasServiceClient;

  /** `identity`: the calling service's certificate (or, insecure, its token). */
  constructor(
    private readonly address: string,
    identity: string | ClientIdentity,
  ) {
    this.client = createClient(RasServiceClient, address, identity);
  }

  /** A transport failure (unreachable, deadline) becomes `ras.unavailable`; ras's own refusals pass as they came. */
  private asked<T>(call: Promise<T>): Promise<T> {
    return call.catch((err: unknown) => {
      if (err instanceof LatchkeyError && err.kind === 'unavailable' && err.code.startsWith('grpc.')) {
        throw rasUnavailable(this.address, err);
      }
      throw err;
    });
  }

  private static req(question: AuthorizationQuestion): CheckRequest {
    const q = withCallerGroups(question);
    return {
      principal: q.principal,
      action: q.action,
      domain: q.domain,
      resource: q.resource ?? '',
      groups: [...(q.groups ?? [])],
      scope: q.scope ?? '',
      requestId: q.requestId ?? '',
    };
  }

  async check(q: AuthorizationQuestion): Promise<Decision> {
    return this.asked(unary(this.client.check.bind(this.client), RasAuthorizer.req(q), 5000));
  }

  async checkBatch(qs: AuthorizationQuestion[]): Promise<Decision[]> {
    if (qs.length === 0) return [];
    const res = await this.asked(
      unary(this.client.checkBatch.bind(this.client), { checks: qs.map((q) => RasAuthorizer.req(q)) }, 5000),
    );
    return res.results;
  }

  close(): void {
    this.client.close();
  }
}
