import { setTimeout as delay } from 'node:timers/promises';

export interface WaitForOptions {
  /** Default 10000. */
  timeoutMs?: number;
  /** Default 50. */
  intervalMs?: number;
  /** Names the condition in the timeout message, e.g. "the order to be indexed". */
  what: string;
}

/**
 * Calls `fn` until it returns a truthy value (which is returned) or the
 * deadline passes. Errors thrown by `fn` count as "not yet"; the last one is
 * reported in the timeout error.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitForOptions,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let hasError = false;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      hasError = false;
    } catch (err) {
      lastError = err;
      hasError = true;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await delay(Math.min(intervalMs, remaining));
  }
  const base = `timed out after ${timeoutMs}ms waiting for ${opts.what}`;
  if (!hasError) throw new Error(base);
  const detail = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(`${base} (last error: ${detail})`, { cause: lastError });
}
