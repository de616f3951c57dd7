export type { Queryable, Pool, PoolClient } from './database.js';
export { createPool, withTransaction, migrate, wrapDbError, isRetryableDbError } from './database.js';
