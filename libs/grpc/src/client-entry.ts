// `@latchkey/grpc/client`: what a gRPC client process needs (the CLI), without
// the server side (its config schemas, JWT verification, logger): it loads a
// fraction of the modules the package's index does (cli/src/startup-load.test.ts).
export * from './client.js';
export * from './local-issuer.js';
export type { ClientTls } from './tls.js';
