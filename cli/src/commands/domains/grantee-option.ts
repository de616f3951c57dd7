import type { Grantee } from '@latchkey/proto';
import { stringOption, type ParsedArgs } from '../args-parser.js';
import { UsageError } from '../../output/cli-errors.js';

/** The options that name who a grant is for. */
export const granteeOptions = { user: { type: 'string' }, group: { type: 'string' } } as const;

/** Exactly one of --user U / --group G. */
export function granteeFromArgs(parsed: ParsedArgs): Grantee {
  const user = stringOption(parsed, 'user');
  const group = stringOption(parsed, 'group');
  if (user !== undefined && group !== undefined) throw new UsageError('give either --user or --group, not both');
  if (user === undefined && group === undefined) throw new UsageError('--user USER or --group GROUP is required');
  if (user === '') throw new UsageError('--user needs a user id');
  if (group === '') throw new UsageError('--group needs a group name');
  return user !== undefined ? { kind: 'user', id: user } : { kind: 'group', id: group ?? '' };
}

export function describeGrantee(g: Grantee | undefined): string {
  return g === undefined ? 'unknown grantee' : `${g.kind} ${g.id}`;
}

export const ROLES = ['owner', 'maintainer', 'member'] as const;

/** --role, checked here so that a typo is a usage error before anything is sent. */
export function roleFromArgs(parsed: ParsedArgs, required: boolean): string {
  const role = stringOption(parsed, 'role');
  if (role === undefined) {
    if (required) throw new UsageError(`--role is required: ${ROLES.join(', ')}`);
    return '';
  }
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new UsageError(`--role must be ${ROLES.join(', ')}, not ${JSON.stringify(role)}`);
  }
  return role;
}

export const BUNDLE_PERMISSIONS = ['VIEW', 'UPDATE', 'USE'] as const;

/** --permission VIEW,USE (any case), checked here; [] when absent and not required. */
export function permissionsFromArgs(parsed: ParsedArgs, required: boolean): string[] {
  const raw = stringOption(parsed, 'permission');
  if (raw === undefined) {
    if (required) throw new UsageError(`--permission is required: ${BUNDLE_PERMISSIONS.join(', ')} (comma-separated)`);
    return [];
  }
  const out: string[] = [];
  for (const part of raw.split(',')) {
    const p = part.trim().toUpperCase();
    if (!(BUNDLE_PERMISSIONS as readonly string[]).includes(p)) {
      throw new UsageError(
        `--permission takes ${BUNDLE_PERMISSIONS.join(', ')} (comma-separated for more than one), not ${JSON.stringify(part.trim())}`,
      );
    }
    if (!out.includes(p)) out.push(p);
  }
  return out;
}
