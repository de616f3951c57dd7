import { columnList } from '@latchkey/db';

/**
 * The columns of ras's tables its rows read, listed rather than `*`: a
 * statement with its columns listed is prepared once per connection
 * (libs/db) and keeps its result type when a migration adds a column.
 * services/ras/test/postgres-columns.test.ts holds each list equal to its migrated table.
 */
export const TABLE_COLUMNS = {
  domains: ['name', 'created_at', 'created_by'],
  bundles: ['domain', 'name', 'created_at', 'created_by'],
  domain_grants: ['domain', 'grantee_kind', 'grantee_id', 'role', 'granted_at', 'granted_by'],
  bundle_grants: ['domain', 'bundle', 'grantee_kind', 'grantee_id', 'permission', 'granted_at', 'granted_by'],
} as const;

/** The columns of `table` as `x, y, …`, or `a.x, a.y, …` with an alias. */
export const columnsOf = (table: keyof typeof TABLE_COLUMNS, alias?: string): string =>
  columnList(TABLE_COLUMNS[table], alias);

export const DOMAIN_COLUMNS = columnsOf('domains');
export const BUNDLE_COLUMNS = columnsOf('bundles');
export const DOMAIN_GRANT_COLUMNS = columnsOf('domain_grants');
export const BUNDLE_GRANT_COLUMNS = columnsOf('bundle_grants');
