import { LatchkeyError } from '@latchkey/errors';
import { RasServiceClient, type CheckRequest } from '@latchkey/proto';
import { currentCall } from './call-context.js';
import { createClient, unary, type ClientIdentity } from './client.js';

export interface Decision {
  allowed: boolean;
  code: string;
  reason: string;
}

/**
 * One question for ras (CheckRequest in ras.proto says what each field means):
 * may `principal`, a member of `groups`, do `action` in `domain` (where it acts
 * from), on `resource`, in target `scope` (empty: `domain` itself; `global`:
 * reading global secrets from `domain`)?
 */
export interface AuthorizationQuestion {
  principal: string;
  action: string;
  domain: string;
  resource?: string;
  groups?: readonly string[];
  scope?: string;
  /**
   * The request this question is asked for (the caller's x-request-id, a
   * deployment id), carried into ras's audit record. Not part of the answer:
   * caches ignore it.
   */
  requestId?: string;
}

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

/** The port every service uses to ask ras; adapters and fakes implement it. */
export interface Authorizer {
  check(q: AuthorizationQuestion): Promise<Decision>;
  checkBatch(qs: AuthorizationQuestion[]): Promise<Decision[]>;
}

/** What kind of failure a refusal of ras is, by its code: the one mapping, for ras and its callers. */
export function denialKind(code: string): 'not_found' | 'invalid_argument' | 'internal' | 'permission_denied' {
  switch (code) {
    case 'ras.domain_not_found':
    case 'ras.bundle_not_found':
      return 'not_found';
    case 'ras.invalid_check':
    case 'domain.reserved':
      return 'invalid_argument';
    case 'ras.unknown_action':
      // A service asking about an action ras does not know is a bug in that service.
      return 'internal';
    default:
      return 'permission_denied';
  }
}

/** Turns a denial into the error a caller should see. */
export function denialError(d: Decision): LatchkeyError {
  return new LatchkeyError(d.code || 'ras.permission_denied', d.reason || 'permission denied', {
    kind: denialKind(d.code),
  });
}

export async function authorize(authorizer: Authorizer, q: AuthorizationQuestion): Promise<void> {
  const d = await authorizer.check(q);
  if (!d.allowed) throw denialError(d);
}

/** Authorizer over RasService gRPC, authenticated as the calling service. */
export class RasAuthorizer implements Authorizer {
  private readonly client: RasServiceClient;

  /** `identity`: the calling service's certificate (or, insecure, its token). */
  constructor(address: string, identity: string | ClientIdentity) {
    this.client = createClient(RasServiceClient, address, identity);
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
    return unary(this.client.check.bind(this.client), RasAuthorizer.req(q), 5000);
  }

  async checkBatch(qs: AuthorizationQuestion[]): Promise<Decision[]> {
    if (qs.length === 0) return [];
    const res = await unary(
      this.client.checkBatch.bind(this.client),
      { checks: qs.map((q) => RasAuthorizer.req(q)) },
      5000,
    );
    return res.results;
  }

  close(): void {
    this.client.close();
  }
}
