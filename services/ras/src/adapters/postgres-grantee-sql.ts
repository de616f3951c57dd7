import type { Grantee } from '../domain/grant-types.js';
import type { GranteeKind } from '../domain/permission-model.js';

/**
 * The SQL condition "the row's grantee is this user or one of these groups",
 * over `grantee_kind` / `grantee_id`, with the user id at $user and the
 * group names (text[]) at $groups.
 */
export const granteeIs = (user: number, groups: number): string =>
  `((grantee_kind = 'user' AND grantee_id = $${user}) OR (grantee_kind = 'group' AND grantee_id = ANY($${groups}::text[])))`;

export interface GranteeColumns {
  grantee_kind: string;
  grantee_id: string;
}

/** The table's CHECK constraint keeps grantee_kind to 'user' or 'group'. */
export const granteeOf = (r: GranteeColumns): Grantee => ({ kind: r.grantee_kind as GranteeKind, id: r.grantee_id });
