export { startTestNats } from './test-nats.js';
export type { TestNats } from './test-nats.js';
export { createTestDatabase, startTestPostgres } from './test-postgres.js';
export type { TestPostgres } from './test-postgres.js';
export { waitFor } from './wait-for.js';
export type { WaitForOptions } from './wait-for.js';
export { tempDir } from './temp-dir.js';
export type { TempDir } from './temp-dir.js';
