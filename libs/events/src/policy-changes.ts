import type { NatsConnection } from 'nats';
import { silentLogger, type Logger } from '@latchkey/logger';
import { subscribeEvents } from './event-consumer.js';
import { eventTypes, subjects } from './subjects.js';

/** Something that keeps ras's answers and can forget them (CachingAuthorizer). */
export interface DecisionCache {
  invalidate(): void;
}

/**
 * Drops `cache` on every `latchkey.policy.changed`, and after a reconnect
 * (events published while this replica was cut off never reach it). A plain
 * core-NATS subscription, not the shared durable consumer: every replica of
 * every service must hear every change. Resolves once the server has the
 * subscription, so a change committed after that is heard.
 */
export async function dropOnPolicyChange(
  nc: NatsConnection,
  cache: DecisionCache,
  logger: Logger = silentLogger,
): Promise<{ stop(): void }> {
  const sub = subscribeEvents(nc, logger, {
    name: 'policy.changed',
    subject: subjects.policyChanged(),
    type: eventTypes.policyChanged,
    handle: () => cache.invalidate(),
  });
  let stopped = false;
  void (async () => {
    for await (const s of nc.status()) {
      if (stopped) break;
      if (s.type === 'reconnect') cache.invalidate();
    }
  })().catch(() => undefined);
  await nc.flush();
  return {
    stop() {
      stopped = true;
      sub.unsubscribe();
    },
  };
}
