export type { AuthorizationQuestion, Authorizer, Decision } from './authorizer.js';
export { authorize, denialError, denialKind } from './authorizer.js';
