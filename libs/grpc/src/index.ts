export type { Principal, CallContext, Authenticator, Credentials } from './call-context.js';
export {
  staticAuthenticator,
  serviceTokenAuthenticator,
  routeByTokenShape,
  looksLikeJwt,
  currentCall,
  runInCall,
} from './call-context.js';
export type { JwtAuthenticatorOptions } from './jwt-authenticator.js';
export { jwtAuthenticator } from './jwt-authenticator.js';
export type { IdentityConfig } from './identity-config.js';
export { IDENTITY_CONFIG, identityAuthenticator } from './identity-config.js';
// The client side (also `@latchkey/grpc/client`, for processes that only call).
export * from './client-entry.js';
export type { UnaryMethod, Handlers, ServiceOptions, LatchkeyServer, ServerDeps } from './server.js';
export type { ServiceTls, ClientTls, TlsConfig, ServiceTransport } from './tls.js';
export { TLS_CONFIG, readServiceTls, servicePrincipalOf, caCertificates, loadServiceTransport } from './tls.js';
export { createServer } from './server.js';
export type { RunningService } from './lifecycle.js';
export { readCredentials, runService } from './lifecycle.js';
export { RasAuthorizer, withCallerGroups } from './ras-authorizer.js';
export type { GrpcStatusObject } from './grpc-status.js';
export { toGrpcStatus, fromGrpcError } from './grpc-status.js';
export type { CachingAuthorizerOptions } from './caching-authorizer.js';
export { CachingAuthorizer } from './caching-authorizer.js';
