import { invalidArgument, LatchkeyError } from '@latchkey/errors';

/** Every code ras gives about its audit trail (reading it, and keeping decision records). */
export const AUDIT_ERROR_CODES = [
  'audit.invalid_since',
  'audit.invalid_limit',
  'audit.invalid_page_token',
  'audit.invalid_actor',
  'audit.unavailable',
] as const;

export function invalidSince(since: string): LatchkeyError {
  return invalidArgument(
    'audit.invalid_since',
    `since ${JSON.stringify(since.slice(0, 40))} is not an RFC 3339 time such as 2025-01-31T12:00:00Z`,
  );
}

export function invalidLimit(limit: number, max: number): LatchkeyError {
  return invalidArgument('audit.invalid_limit', `limit ${limit} is out of range: ask for 1 to ${max}`);
}

export function invalidPageToken(): LatchkeyError {
  return invalidArgument(
    'audit.invalid_page_token',
    'the page token is not one this server gave out: pass next_page_token from the previous page unchanged',
  );
}

export function invalidActor(): LatchkeyError {
  return invalidArgument('audit.invalid_actor', 'the actor is longer than 256 characters');
}

/** A decision whose record could not be stored is not answered (retryable). */
export function decisionUnaudited(cause: LatchkeyError): LatchkeyError {
  return new LatchkeyError(
    'audit.unavailable',
    `the decision was not answered: its audit record could not be stored (${cause.code}); try again once ras's database is reachable`,
    { kind: 'unavailable', retryable: true, cause },
  );
}
