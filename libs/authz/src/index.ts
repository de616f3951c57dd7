export type { AuthorizationQuestion, Authorizer, Decision } from './authorizer.js';
export { authorize, denialError, denialKind } from './authorizer.js';
export {
  checkDomainName,
  DOMAIN_NAME,
  GLOBAL_SCOPE,
  INTEGRATION_ID,
  OBJECT_NAME,
  PRINCIPAL_ID,
  SECRET_KEY,
} from './names.js';
