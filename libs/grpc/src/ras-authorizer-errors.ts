import { LatchkeyError } from '@latchkey/errors';

/**
 * ras did not answer a permission check (nothing listening, or no answer
 * before the deadline). Named for what failed, so that whoever called the
 * service that asked hears "ras", not "cannot reach <that service>".
 */
export function rasUnavailable(address: string, err: LatchkeyError): LatchkeyError {
  return new LatchkeyError(
    'ras.unavailable',
    `ras (${address}) did not answer the permission check (${err.code}: ${err.message}); nothing was done: try again once ras is back`,
    { kind: 'unavailable', retryable: true },
  );
}
