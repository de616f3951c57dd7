import type { JetStreamClient } from 'nats';
import { auditEvent, publishEvent, type AuditRecord } from '@latchkey/events';
import type { Logger } from '@latchkey/logger';
import type { DecisionAudit } from '../domain/ports.js';

export interface NatsDecisionAuditOptions {
  js: JetStreamClient;
  logger: Logger;
  /** How many records go out at once. Default 256. */
  batchSize?: number;
  /** Records kept while JetStream is unreachable; beyond this the oldest are dropped (and counted in the log). Default 50000. */
  maxBuffered?: number;
}

/**
 * Sends decision records to the audit stream without holding up the
 * decision: record() queues, a background loop publishes in batches (each
 * with Nats-Msg-Id = record id, so a retried publish is stored once) and
 * retries with backoff while JetStream is unavailable. stop() sends what is
 * queued, for at most `deadlineMs`.
 */
export class NatsDecisionAudit implements DecisionAudit {
  private queue: AuditRecord[] = [];
  private loop: Promise<void> | undefined;
  private failures = 0;
  private dropped = 0;
  private wake: (() => void) | undefined;
  private stopping = false;

  constructor(private readonly opts: NatsDecisionAuditOptions) {}

  /** Records waiting to be sent. */
  get pending(): number {
    return this.queue.length;
  }

  record(records: readonly AuditRecord[]): void {
    if (records.length === 0) return;
    this.queue.push(...records);
    const max = this.opts.maxBuffered ?? 50_000;
    if (this.queue.length > max) {
      const over = this.queue.length - max;
      this.queue.splice(0, over);
      this.dropped += over;
      this.opts.logger.error('audit records dropped: the audit stream has been unreachable too long', {
        dropped: over,
        droppedTotal: this.dropped,
      });
    }
    this.start();
  }

  private start(): void {
    if (this.loop !== undefined || this.stopping || this.queue.length === 0) return;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
      // Records queued while the loop was finishing.
      this.start();
    });
  }

  /** Sends what is queued, giving up after `deadlineMs`. */
  async stop(deadlineMs = 5000): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop?.catch(() => undefined);
    const deadline = Date.now() + deadlineMs;
    while (this.queue.length > 0 && Date.now() < deadline) {
      try {
        await this.publishBatch();
      } catch {
        break;
      }
    }
    if (this.queue.length > 0) {
      this.opts.logger.error('audit records not sent at shutdown', { lost: this.queue.length });
    }
  }

  private async publishBatch(): Promise<void> {
    const batch = this.queue.slice(0, this.opts.batchSize ?? 256);
    const results = await Promise.allSettled(
      batch.map((r) => publishEvent(this.opts.js, 'latchkey/ras', auditEvent(r))),
    );
    // Keep the ones that failed, in order, at the head of the queue.
    const failed = batch.filter((_, i) => results[i]?.status === 'rejected');
    this.queue.splice(0, batch.length, ...failed);
    const firstError = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (firstError) throw firstError.reason;
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0 && !this.stopping) {
      try {
        await this.publishBatch();
        if (this.failures > 0) this.opts.logger.info('audit stream reachable again', { after: this.failures });
        this.failures = 0;
      } catch (err) {
        this.failures++;
        this.opts.logger.warn('could not send decision audit records; will retry', {
          err,
          failures: this.failures,
          pending: this.queue.length,
        });
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(5000, 100 * 2 ** this.failures));
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }
}
