// The naming rules live in libs/authz (see there); libs/events keeps exporting them.
export {
  checkDomainName,
  DOMAIN_NAME,
  GLOBAL_SCOPE,
  INTEGRATION_ID,
  OBJECT_NAME,
  PRINCIPAL_ID,
  SECRET_KEY,
} from '@latchkey/authz';
