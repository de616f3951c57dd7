/**
 * The V1 `database` store: the table `secret_store` (seed 002). The seed does
 * not give its columns; the key is read from the first of KEY_COLUMNS the
 * table has and the value from the first of VALUE_COLUMNS (text, or bytea as
 * its bytes). Read in one READ ONLY transaction; pg is loaded only here.
 */
import { CliError, UsageError } from '../../output/cli-errors.js';
import { legacyStoreError, networkCode, type LegacyRead, type LegacyStore } from './legacy-store.js';

export const DEFAULT_TABLE = 'secret_store';
export const KEY_COLUMNS = ['key', 'secret_key', 'name'] as const;
export const VALUE_COLUMNS = ['value', 'secret_value'] as const;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const TIMEOUT_MS = 10_000;

/** `[schema.]name`, each an unquoted PostgreSQL identifier. */
function parseTable(table: string): { schema: string | undefined; name: string } {
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) {
    throw new UsageError(`--table must be NAME or SCHEMA.NAME of letters, digits and _, like public.${DEFAULT_TABLE}`);
  }
  return parts.length === 2 ? { schema: parts[0], name: parts[1] ?? '' } : { schema: undefined, name: parts[0] ?? '' };
}

/** The URL without what is not for messages (a password is refused before, the query is dropped). */
function describeUrl(url: URL): string {
  const user = url.username === '' ? '' : `${url.username}@`;
  return `${url.protocol}//${user}${url.host}${url.pathname}`;
}

export function databaseStore(opts: { url: string; table?: string; password?: Buffer }): LegacyStore {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new UsageError('--url must be a PostgreSQL URL like postgres://USER@HOST:5432/DATABASE');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new UsageError('--url must be a PostgreSQL URL like postgres://USER@HOST:5432/DATABASE');
  }
  if (url.password !== '' || url.searchParams.has('password')) {
    throw new UsageError(
      '--url holds a password, and passwords never go on the command line, where ps and shell history can see them: ' +
        'leave it out of the URL and pipe it in with --credential-stdin, or use --credential-file FILE',
    );
  }
  const { schema, name } = parseTable(opts.table ?? DEFAULT_TABLE);
  const tableName = schema === undefined ? name : `${schema}.${name}`;
  const store = { kind: 'database', label: `table ${tableName} of ${describeUrl(url)}` };
  return {
    ...store,
    async read(): Promise<LegacyRead> {
      const { default: pg } = await import('pg');
      const withPassword = new URL(url);
      if (opts.password !== undefined) withPassword.password = encodeURIComponent(opts.password.toString('utf8'));
      const client = new pg.Client({
        connectionString: withPassword.toString(),
        connectionTimeoutMillis: TIMEOUT_MS,
        query_timeout: TIMEOUT_MS,
      });
      // A connection lost later surfaces on the query; this only keeps it from being an uncaught 'error'.
      client.on('error', () => undefined);
      try {
        await client.connect();
      } catch (err) {
        throw legacyStoreError(store, `cannot connect (${pgFailure(err)})`);
      }
      try {
        await client.query('BEGIN READ ONLY');
        const columns = await client.query<{ column_name: string }>(
          `SELECT column_name FROM information_schema.columns
            WHERE table_schema = coalesce($1, current_schema()) AND table_name = $2 ORDER BY ordinal_position`,
          [schema ?? null, name],
        );
        const names = columns.rows.map((r) => r.column_name);
        if (names.length === 0) {
          throw legacyStoreError(store, `there is no table ${tableName} (name another with --table [SCHEMA.]NAME)`);
        }
        const keyColumn = KEY_COLUMNS.find((c) => names.includes(c));
        const valueColumn = VALUE_COLUMNS.find((c) => names.includes(c));
        if (keyColumn === undefined || valueColumn === undefined) {
          throw legacyStoreError(
            store,
            `it has no ${keyColumn === undefined ? `key column (one of ${KEY_COLUMNS.join(', ')})` : `value column (one of ${VALUE_COLUMNS.join(', ')})`}; its columns are ${names.join(', ')}`,
          );
        }
        const from =
          schema === undefined
            ? client.escapeIdentifier(name)
            : `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(name)}`;
        const rows = await client.query<{ k: string | null; v: string | Buffer | null }>(
          `SELECT ${client.escapeIdentifier(keyColumn)}::text AS k, ${client.escapeIdentifier(valueColumn)} AS v FROM ${from}`,
        );
        const out: LegacyRead = { entries: [], skipped: [] };
        for (const { k, v } of rows.rows) {
          if (k === null) out.skipped.push({ key: '', why: `a row whose ${keyColumn} is NULL` });
          else if (v === null) out.skipped.push({ key: k, why: `its ${valueColumn} is NULL` });
          else out.entries.push({ key: k, value: typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v) });
        }
        return out;
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw legacyStoreError(store, `reading it failed (${pgFailure(err)})`);
      } finally {
        await client.query('ROLLBACK').catch(() => undefined);
        await client.end().catch(() => undefined);
      }
    },
  };
}

/**
 * PostgreSQL's own message (it names users, databases and tables, never a
 * password), or a network code. A data exception (SQLSTATE class 22) may quote
 * the datum, which may be a value: only its code is given.
 */
function pgFailure(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code)) return `a data exception, SQLSTATE ${e.code}`;
  if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.message === 'string') {
    return `${e.message.slice(0, 300)}, SQLSTATE ${e.code}`;
  }
  const code = networkCode(err);
  if (code !== undefined) return code;
  return typeof e.message === 'string' && /timeout/i.test(e.message) ? 'timed out' : 'no answer';
}
