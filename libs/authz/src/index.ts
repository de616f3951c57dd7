export type { AuthorizationQuestion, Authorizer, Decision } from './authorizer.js';
export { authorize, denialError, denialKind } from './authorizer.js';
export {
  checkDomainName,
  checkNewDomainName,
  DOMAIN_NAME,
  DOMAIN_NAME_MAX,
  NEW_DOMAIN_NAME,
  NEW_DOMAIN_NAME_RULE,
  newDomainNameProblem,
  GLOBAL_SCOPE,
  INTEGRATION_ID,
  OBJECT_NAME,
  PRINCIPAL_ID,
  SECRET_KEY,
} from './names.js';
