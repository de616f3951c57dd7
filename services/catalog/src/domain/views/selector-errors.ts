import { invalidArgument, LatchkeyError } from '@latchkey/errors';

/** The errors of the selector (the inventory's are the secrets'), each built in one place. */
export const SELECTOR_ERROR_CODES = [
  'selector.invalid_page_size',
  'selector.invalid_page_token',
  'vault.timeout',
] as const;

export const invalidPageSize = (defaultSize: number, max: number): LatchkeyError =>
  invalidArgument('selector.invalid_page_size', `page size must be 0 (default ${defaultSize}) to ${max}`);

/** A token this selector did not give out (`why`: too long, not readable). */
export const invalidPageToken = (why: string): LatchkeyError =>
  invalidArgument(
    'selector.invalid_page_token',
    `the page token is not one this selector gave out (${why}): start again without it`,
  );

export const pageTokenOfOtherDomain = (tokenDomain: string, domain: string): LatchkeyError =>
  invalidArgument(
    'selector.invalid_page_token',
    `the page token continues the selector of domain ${JSON.stringify(tokenDomain.slice(0, 80))}, not ${domain}: start again without it, or ask for that domain`,
  );

/** An integration's listing that took longer than the selector waits. */
export const listingTimedOut = (what: string, ms: number): LatchkeyError =>
  new LatchkeyError('vault.timeout', `${what} did not answer within ${Math.round(ms / 100) / 10} s`, {
    kind: 'unavailable',
  });
