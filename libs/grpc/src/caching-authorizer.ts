import { invalidArgument } from '@latchkey/errors';
import { withCallerGroups } from './ras-authorizer.js';
import { type AuthorizationQuestion, type Authorizer, type Decision } from '@latchkey/authz';

export interface CachingAuthorizerOptions {
  /** How long a decision (allow or deny) is reused, in milliseconds. Default 1000; 0 turns caching off. */
  ttlMs?: number;
  /** At most this many decisions are kept; the oldest go first. Default 10000. */
  maxEntries?: number;
  /** The clock, in milliseconds (tests pass a fake one). Default Date.now. */
  now?: () => number;
  /** Told of each question: answered from the cache (`hit`, also a question already on its way) or asked of ras (`miss`). */
  onLookup?: (result: 'hit' | 'miss') => void;
}

interface Entry {
  decision: Decision;
  expires: number;
}

/**
 * An Authorizer that reuses ras's answers for a short while. Callers drop
 * everything with invalidate() when a `latchkey.policy.changed` event
 * arrives; the TTL bounds how stale an answer can be when an event is late
 * or missed. Errors (ras unreachable) are never cached, and an answer that
 * was asked for before an invalidate() is not kept after it.
 */
export class CachingAuthorizer implements Authorizer {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Decision>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly onLookup: (result: 'hit' | 'miss') => void;
  private generation = 0;

  constructor(
    private readonly inner: Authorizer,
    options: CachingAuthorizerOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 1000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
    this.onLookup = options.onLookup ?? (() => undefined);
    if (!Number.isFinite(this.ttlMs) || this.ttlMs < 0) {
      throw invalidArgument(
        'authorizer.invalid_ttl',
        `CachingAuthorizer ttlMs must be a finite number of milliseconds >= 0, not ${this.ttlMs}`,
      );
    }
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) {
      throw invalidArgument(
        'authorizer.invalid_max_entries',
        `CachingAuthorizer maxEntries must be a whole number >= 1, not ${this.maxEntries}`,
      );
    }
  }

  /** Decisions currently kept (expired ones included until they are next looked at). */
  get size(): number {
    return this.entries.size;
  }

  /** Drops every cached decision, and forgets answers still on their way. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
    this.inflight.clear();
  }

  async check(question: AuthorizationQuestion): Promise<Decision> {
    // The caller's groups are part of the question (and of its key) before it is looked up.
    const q = withCallerGroups(question);
    if (this.ttlMs === 0) {
      this.onLookup('miss');
      return this.inner.check(q);
    }
    const key = CachingAuthorizer.key(q);
    const hit = this.lookup(key);
    const pending = hit ? undefined : this.inflight.get(key);
    this.onLookup(hit || pending ? 'hit' : 'miss');
    if (hit) return hit;
    if (pending) return pending;
    const generation = this.generation;
    const asked = this.inner.check(q).then((d) => {
      this.store(key, d, generation);
      return d;
    });
    this.inflight.set(key, asked);
    try {
      return await asked;
    } finally {
      if (this.inflight.get(key) === asked) this.inflight.delete(key);
    }
  }

  async checkBatch(questions: AuthorizationQuestion[]): Promise<Decision[]> {
    const qs = questions.map(withCallerGroups);
    if (this.ttlMs === 0 || qs.length === 0) {
      for (let i = 0; i < qs.length; i++) this.onLookup('miss');
      return this.inner.checkBatch(qs);
    }
    const keys = qs.map((q) => CachingAuthorizer.key(q));
    const results: (Decision | undefined)[] = keys.map((k) => this.lookup(k));
    // One question per distinct missing key, asked in one batch.
    const missing = new Map<string, AuthorizationQuestion>();
    keys.forEach((k, i) => {
      const q = qs[i];
      if (results[i] === undefined && q !== undefined && !missing.has(k)) missing.set(k, q);
    });
    // A question repeated in the batch is asked once: its repeats are hits.
    for (let i = 0; i < qs.length - missing.size; i++) this.onLookup('hit');
    for (let i = 0; i < missing.size; i++) this.onLookup('miss');
    if (missing.size > 0) {
      const generation = this.generation;
      const asked = [...missing.entries()];
      const answers = await this.inner.checkBatch(asked.map(([, q]) => q));
      if (answers.length !== asked.length) {
        throw new Error(`ras answered ${answers.length} of ${asked.length} checks in a batch`);
      }
      const byKey = new Map<string, Decision>();
      asked.forEach(([k], i) => {
        const d = answers[i];
        if (d === undefined) return;
        byKey.set(k, d);
        this.store(k, d, generation);
      });
      keys.forEach((k, i) => {
        results[i] ??= byKey.get(k);
      });
    }
    return results.map((d, i) => {
      if (d === undefined) throw new Error(`no decision for check ${i} of the batch`);
      return d;
    });
  }

  private lookup(key: string): Decision | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.decision;
  }

  private store(key: string, decision: Decision, generation: number): void {
    if (generation !== this.generation) return;
    this.entries.delete(key);
    this.entries.set(key, { decision, expires: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  /** Everything that can change the answer; group order does not. */
  private static key(q: AuthorizationQuestion): string {
    return JSON.stringify([
      q.principal,
      [...(q.groups ?? [])].sort(),
      q.action,
      q.domain,
      q.scope ?? '',
      q.resource ?? '',
    ]);
  }
}
