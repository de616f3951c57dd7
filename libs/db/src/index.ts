export type { Queryable, Pool } from './database.js';
export { createPool, withTransaction, migrate, wrapDbError, isRetryableDbError } from './database.js';
