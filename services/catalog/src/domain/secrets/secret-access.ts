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

/** The service logger's redactor (see SecretServiceDeps.masker). */
export interface ValueMasker {
  add(values: Iterable<string>): void;
  remove(values: Iterable<string>): void;
}

/** Runs `fn` with `values` held by the masker: masked in every log line while `fn` handles them. */
export async function holdingValues<T>(
  masker: ValueMasker | undefined,
  values: readonly Buffer[],
  fn: () => Promise<T>,
): Promise<T> {
  const held = values.map((v) => v.toString('utf8'));
  masker?.add(held);
  try {
    return await fn();
  } finally {
    masker?.remove(held);
  }
}
