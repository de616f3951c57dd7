export type { Queryable, Pool, Connection } from './database.js';
export {
  createPool,
  connectOutsidePool,
  withTransaction,
  migrate,
  wrapDbError,
  isRetryableDbError,
} from './database.js';
