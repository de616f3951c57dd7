import { envelopeDecrypt, envelopeEncrypt, type Kek } from '@latchkey/crypto';
import { invalidArgument, notFound, LatchkeyError } from '@latchkey/errors';
import { authorize, type Authorizer } from '@latchkey/grpc';
import { storeKey, type SecretStore } from './ports.js';
import {
  DOMAIN_NAME,
  GLOBAL,
  SECRET_KEY,
  type PutResult,
  type ScopeName,
  type SecretMeta,
  type ValueAnswer,
  type ValueQuery,
} from './secret-types.js';

export interface ScopeInput {
  domain: string;
  global: boolean;
}

export function scopeOf(input: ScopeInput | undefined): ScopeName {
  const domain = input?.domain ?? '';
  const global = input?.global ?? false;
  if (global && domain) throw invalidArgument('scope.ambiguous', 'give either a domain or global scope, not both');
  if (global) return GLOBAL;
  if (!domain)
    throw invalidArgument('scope.missing', 'no scope: give a domain (--domain D) or global scope (--global)');
  if (!DOMAIN_NAME.test(domain)) {
    throw invalidArgument(
      'domain.invalid_name',
      `invalid domain name ${JSON.stringify(domain.slice(0, 80))}: lowercase letters, digits and hyphens`,
    );
  }
  return domain;
}

export function validateKey(key: string): void {
  if (!SECRET_KEY.test(key)) {
    throw invalidArgument(
      'secret.invalid_key',
      `invalid secret key ${JSON.stringify(key.slice(0, 80))}: use 1-253 letters, digits, '.', '_' or '-'`,
    );
  }
}

const context = (scope: ScopeName, key: string, version: number) => `latchkey.secret:${scope}/${key}/${version}`;

export interface SecretServiceDeps {
  store: SecretStore;
  authorizer: Authorizer;
  keks: ReadonlyMap<string, Kek>;
  currentKek: Kek;
  maxValueBytes: number;
  /** Called after a change committed (kicks the outbox relay). */
  onChange: () => void;
}

export class SecretService {
  constructor(private readonly deps: SecretServiceDeps) {}

  async put(
    principal: string,
    input: { scope: ScopeInput | undefined; key: string; value: Buffer; description: string },
  ): Promise<PutResult> {
    const scope = scopeOf(input.scope);
    validateKey(input.key);
    if (input.value.length === 0) {
      throw invalidArgument('secret.empty_value', 'the value is empty: pass it on standard input or with --value-file');
    }
    if (input.value.length > this.deps.maxValueBytes) {
      throw invalidArgument(
        'secret.value_too_large',
        `the value is ${input.value.length} bytes; at most ${this.deps.maxValueBytes} bytes are allowed`,
      );
    }
    if (input.description.length > 1000) {
      throw invalidArgument('secret.description_too_long', 'the description is longer than 1000 characters');
    }
    await authorize(this.deps.authorizer, { principal, action: 'secret.manage', domain: scope, resource: input.key });
    const { currentKek } = this.deps;
    const result = await this.deps.store.put({
      scope,
      key: input.key,
      description: input.description || undefined,
      by: principal,
      encrypt: (version) => envelopeEncrypt(currentKek, input.value, context(scope, input.key, version)),
    });
    this.deps.onChange();
    return result;
  }

  async list(principal: string, scopeInput: ScopeInput | undefined): Promise<SecretMeta[]> {
    const scope = scopeOf(scopeInput);
    await authorize(this.deps.authorizer, { principal, action: 'secret.list', domain: scope });
    return this.deps.store.list(scope);
  }

  async delete(principal: string, scopeInput: ScopeInput | undefined, key: string): Promise<SecretMeta> {
    const scope = scopeOf(scopeInput);
    validateKey(key);
    await authorize(this.deps.authorizer, { principal, action: 'secret.manage', domain: scope, resource: key });
    const deleted = await this.deps.store.delete(scope, key, principal);
    if (!deleted)
      throw notFound(
        'secret.not_found',
        `secret ${key} not found in ${scope === GLOBAL ? 'global scope' : `domain ${scope}`}`,
      );
    this.deps.onChange();
    return deleted;
  }

  /**
   * The internal value read (resolver only). Authorization of the deploying
   * principal is the resolver's job, done through ras before it asks.
   */
  async readValues(queries: ValueQuery[]): Promise<ValueAnswer[]> {
    const wanted: { scope: ScopeName; key: string }[] = [];
    for (const q of queries) {
      if (!SECRET_KEY.test(q.key) || (q.scope !== GLOBAL && !DOMAIN_NAME.test(q.scope))) continue;
      wanted.push({ scope: q.scope, key: q.key });
      if (q.fallbackToGlobal && q.scope !== GLOBAL) wanted.push({ scope: GLOBAL, key: q.key });
    }
    const found = await this.deps.store.readCurrent(wanted);
    return queries.map((q): ValueAnswer => {
      const scopes = q.fallbackToGlobal && q.scope !== GLOBAL ? [q.scope, GLOBAL] : [q.scope];
      for (const scope of scopes) {
        const stored = found.get(storeKey(scope, q.key));
        if (!stored) continue;
        try {
          const value = envelopeDecrypt(this.deps.keks, { ...stored }, context(scope, q.key, stored.version));
          return { refId: q.refId, found: true, scope, version: stored.version, value };
        } catch (err) {
          const code = err instanceof LatchkeyError ? err.code : 'crypto.error';
          return {
            refId: q.refId,
            found: false,
            code,
            message: `secret ${q.key} in ${scope} cannot be decrypted (${code})`,
          };
        }
      }
      const where = scopes.map((s) => (s === GLOBAL ? 'global scope' : `domain ${s}`)).join(' or ');
      return {
        refId: q.refId,
        found: false,
        code: 'secret.not_found',
        message: `secret ${q.key} not found in ${where}`,
      };
    });
  }
}
