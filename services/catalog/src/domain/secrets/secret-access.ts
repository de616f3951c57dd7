import { authorize, type Authorizer } from '@latchkey/authz';
import type { ScopeName } from './secret-types.js';

/** MANAGE_SECRETS on the key, asked with the request's id (in ras's decision record). */
export function mayManageSecret(
  authorizer: Authorizer,
  principal: string,
  scope: ScopeName,
  key: string,
  requestId: string | undefined,
): Promise<void> {
  return authorize(authorizer, {
    principal,
    action: 'secret.manage',
    domain: scope,
    resource: key,
    ...(requestId === undefined ? {} : { requestId }),
  });
}
