import type { Scope } from '@latchkey/proto';
import { booleanOption, stringOption, type ParsedArgs } from '../args-parser.js';
import { UsageError } from '../../output/cli-errors.js';

/** The options scopeFromArgs reads, for a command's option table. */
export const SCOPE_OPTIONS = { domain: { type: 'string' }, global: { type: 'boolean' } } as const;

/** Exactly one of --domain D / --global. */
export function scopeFromArgs(parsed: ParsedArgs): Scope {
  const domain = stringOption(parsed, 'domain');
  const global = booleanOption(parsed, 'global');
  if (domain !== undefined && global) throw new UsageError('give either --domain or --global, not both');
  if (domain === undefined && !global) throw new UsageError('--domain DOMAIN or --global is required');
  if (domain === '') throw new UsageError('--domain needs a name');
  return global ? { domain: '', global: true } : { domain: domain ?? '', global: false };
}

export function describeScope(scope: Scope | undefined): string {
  if (scope === undefined) return 'unknown scope';
  return scope.global ? 'global scope' : `domain ${scope.domain}`;
}
