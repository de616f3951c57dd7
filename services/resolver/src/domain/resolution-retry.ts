import type { ReferenceFailure } from '@latchkey/events';
import { type Failed, toFailure } from './resolution-outcome.js';

export const DEFAULT_MAX_ATTEMPTS = 6;

/**
 * What to do with a deployment's failures on attempt `attempt`: wait for
 * another attempt while every failure is retryable and attempts remain, or
 * give up with the failures to publish (a retryable one says after how many).
 */
export function retryVerdict(
  failed: readonly Failed[],
  attempt: number,
  maxAttempts: number,
): { retry: true } | { retry: false; failures: ReferenceFailure[] } {
  const permanent = failed.some((f) => !f.retryable);
  if (!permanent && attempt < maxAttempts) return { retry: true };
  return {
    retry: false,
    failures: failed.map((f) =>
      toFailure(
        f.retryable && !permanent
          ? { ...f, message: `${f.message} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'})` }
          : f,
      ),
    ),
  };
}
