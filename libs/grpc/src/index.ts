export type { Principal, CallContext, Authenticator, Credentials } from './call-context.js';
export { staticAuthenticator } from './call-context.js';
export type { UnaryMethod, Handlers, ServiceOptions, LatchkeyServer } from './server.js';
export { createServer } from './server.js';
export { authInterceptor, createClient, unary, checkHealth } from './client.js';
export type { RunningService } from './lifecycle.js';
export { readCredentials, runService } from './lifecycle.js';
export type { Decision, AuthorizationQuestion, Authorizer } from './ras-authorizer.js';
export { RasAuthorizer, authorize, denialError } from './ras-authorizer.js';
