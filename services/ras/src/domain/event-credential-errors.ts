import { invalidArgument, LatchkeyError } from '@latchkey/errors';

/** Every code ras gives about minting event credentials for a subscriber outside Latchkey. */
export const EVENT_CREDENTIAL_ERROR_CODES = [
  'events.no_domain',
  'events.too_many_domains',
  'events.invalid_name',
  'events.invalid_ttl',
  'events.credentials_unavailable',
] as const;

export function noDomain(): LatchkeyError {
  return invalidArgument('events.no_domain', 'name at least one domain whose events the subscriber may receive');
}

export function tooManyDomains(given: number, max: number): LatchkeyError {
  return invalidArgument('events.too_many_domains', `at most ${max} domains per credential, got ${given}`);
}

export function invalidSubscriberName(name: string, pattern: RegExp): LatchkeyError {
  return invalidArgument(
    'events.invalid_name',
    `the subscriber name ${JSON.stringify(name.slice(0, 80))} must match ${pattern.source} (e.g. redeploy-trigger)`,
  );
}

export function invalidTtl(ttlDays: number, maxDays: number): LatchkeyError {
  return invalidArgument(
    'events.invalid_ttl',
    `ttl_days must be a whole number of days from 1 to ${maxDays}, got ${ttlDays}`,
  );
}

export function credentialsUnavailable(): LatchkeyError {
  return new LatchkeyError(
    'events.credentials_unavailable',
    'ras has no subscriber signing key, so it cannot mint event credentials: set LATCHKEY_NATS_SUBSCRIBER_SIGNER_FILE (latchkey up does)',
    { kind: 'failed_precondition' },
  );
}
