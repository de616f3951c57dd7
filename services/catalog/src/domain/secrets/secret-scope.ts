import { checkDomainName, GLOBAL_SCOPE, SECRET_KEY } from '@latchkey/events';
import { invalidKey, scopeAmbiguous, scopeMissing } from './secret-errors.js';
import type { ScopeName } from './secret-types.js';

/** A scope as requests give it: a domain, or global. */
export interface ScopeInput {
  domain: string;
  global: boolean;
}

/** The scope a request names: exactly one of a domain (checked) and global. */
export function scopeOf(input: ScopeInput | undefined): ScopeName {
  const domain = input?.domain ?? '';
  const global = input?.global ?? false;
  if (global && domain) throw scopeAmbiguous();
  if (global) return GLOBAL_SCOPE;
  if (!domain) throw scopeMissing();
  checkDomainName(domain);
  return domain;
}

export function validateKey(key: string): void {
  if (!SECRET_KEY.test(key)) throw invalidKey(key);
}
