import { LatchkeyError } from '@latchkey/errors';

/**
 * The authorization port: the question a service asks ras, its answer, and
 * the one mapping of a refusal to an error. No transport here: domains use
 * it; libs/grpc's RasAuthorizer and the tests' fakes implement it.
 */

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
