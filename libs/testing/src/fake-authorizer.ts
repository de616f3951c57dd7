import type { AuthorizationQuestion, Authorizer, Decision } from '@latchkey/authz';

/** ras's yes. */
export const ALLOW: Decision = { allowed: true, code: '', reason: '' };

/** ras's no, with the reason a test's caller should see. */
export function deny(reason = 'permission denied', code = 'ras.permission_denied'): Decision {
  return { allowed: false, code, reason };
}

/** How a FakeAuthorizer answers: one decision for every question, or one per question (`true`: allowed). */
export type FakeDecide = Decision | ((q: AuthorizationQuestion) => Decision | boolean);

/**
 * The Authorizer port, faked for tests: answers by `decide` (default: allow
 * everything) and remembers every question (`asked`) and every call
 * (`batches`: a check is a batch of one). `failWith` makes every call fail, as
 * an unreachable ras; `answerOnly` cuts every batch's answer short.
 */
export class FakeAuthorizer implements Authorizer {
  readonly asked: AuthorizationQuestion[] = [];
  readonly batches: AuthorizationQuestion[][] = [];
  failWith: Error | undefined;
  answerOnly: number | undefined;
  decide: FakeDecide;

  constructor(decide: FakeDecide = ALLOW) {
    this.decide = decide;
  }

  /** Allows everything except questions about the resources (keys) named. */
  static denyingResources(resources: Iterable<string>, reason?: (q: AuthorizationQuestion) => string): FakeAuthorizer {
    const denied = new Set(resources);
    return new FakeAuthorizer((q) =>
      denied.has(q.resource ?? '')
        ? deny(reason?.(q) ?? `${q.principal} may not ${q.action} ${q.resource ?? ''}`.trimEnd())
        : ALLOW,
    );
  }

  private answer(q: AuthorizationQuestion): Decision {
    const d = typeof this.decide === 'function' ? this.decide(q) : this.decide;
    if (d === true) return ALLOW;
    if (d === false) return deny(`${q.principal} may not ${q.action} in ${q.domain}`);
    return d;
  }

  check(q: AuthorizationQuestion): Promise<Decision> {
    return this.checkBatch([q]).then((ds) => ds[0]!);
  }

  checkBatch(qs: AuthorizationQuestion[]): Promise<Decision[]> {
    this.batches.push(qs);
    this.asked.push(...qs);
    if (this.failWith) return Promise.reject(this.failWith);
    return Promise.resolve(qs.slice(0, this.answerOnly ?? qs.length).map((q) => this.answer(q)));
  }
}
