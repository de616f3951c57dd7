export * from './call-context.js';
export * from './jwt-authenticator.js';
export * from './identity-config.js';
export * from './local-issuer.js';
export * from './server.js';
export type { ServiceTls, ClientTls, TlsConfig, ServiceTransport } from './tls.js';
export {
  TLS_CONFIG,
  readServiceTls,
  servicePrincipalOf,
  servicePrincipals,
  caCertificates,
  loadServiceTransport,
} from './tls.js';
export * from './client.js';
export * from './lifecycle.js';
export * from './ras-authorizer.js';
export * from './grpc-status.js';
export * from './caching-authorizer.js';
