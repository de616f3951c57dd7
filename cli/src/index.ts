// The CLI as a library, for programs that drive Latchkey the way the CLI
// does (the benchmarks under test/bench): the same verbs in-process, and the
// same connection and identity for direct gRPC calls.
export { main } from './main.js';
export type { CliIo } from './output/cli-io.js';
export { call, openClientContext, type ClientContext } from './client/client-context.js';
export { readConnectionFile, type ConnectionInfo, type MetricsTarget } from './local-state/connection-file.js';
export { systemFolderFor, DEFAULT_SYSTEM_DIR } from './up/system-folder.js';
