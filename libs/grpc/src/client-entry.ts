// `@latchkey/grpc/client`: what a gRPC client needs (the CLI, the gateway),
// without the server side (its config schemas, JWT verification, logger):
// a client process loads a fraction of the modules the package's index does.
export type { ClientIdentity } from './client.js';
export { authInterceptor, channelCredentials, createClient, unary, checkHealth } from './client.js';
export type { ClientTls } from './tls.js';
export type { LocalIssuerFiles, MintInput } from './local-issuer.js';
export {
  EMBEDDED_AUDIENCE,
  EMBEDDED_ISSUER,
  ensureLocalIssuer,
  localIssuerFiles,
  mintLocalToken,
} from './local-issuer.js';
