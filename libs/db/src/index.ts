export type { Queryable, Pool, Connection, TransactionOptions } from './database.js';
export {
  createPool,
  preparedName,
  columnList,
  MAX_PREPARED_STATEMENTS,
  connectOutsidePool,
  withTransaction,
  migrate,
  wrapDbError,
  isRetryableDbError,
} from './database.js';
