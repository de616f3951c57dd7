import type { JetStreamClient, JsMsg, ConsumerMessages } from 'nats';
import { LatchkeyError } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';
import type { ConsumerSpec } from './streams.js';

export type MessageHandler = (msg: JsMsg) => Promise<void>;

export interface ConsumerRunnerOptions {
  js: JetStreamClient;
  stream: string;
  durable: string;
  handler: MessageHandler;
  logger: Logger;
  /** How many messages one replica handles at once. */
  concurrency?: number;
  /** Told of each message this consumer receives again (delivered before: nak'd, timed out, or its handler crashed). */
  onRedelivery?: () => void;
  /**
   * How long one handler may run before its slot is given back, in
   * milliseconds (default HANDLER_LIMIT_MS). A handler past it is logged
   * as an error naming its message, the message is delivered again later
   * (handlers are idempotent), and what the late handler does is ignored.
   */
  handlerLimitMs?: number;
}

/**
 * Every handler awaits only calls with their own deadlines (gRPC, JetStream
 * publishes, the database), well under a minute; one still running after
 * this is hung. Without a limit, `concurrency` hung handlers stop the
 * consumer for good: the runner no longer takes messages, so it no longer
 * pulls, and JetStream never redelivers to a consumer that does not pull.
 */
export const HANDLER_LIMIT_MS = 120_000;

/**
 * A durable consumer as a service declares it: the consumer (created or
 * updated at start), its handler and how many messages a replica handles at
 * once. The service bootstrap ensures and runs each one.
 */
export interface DurableConsumer extends ConsumerSpec {
  handler: MessageHandler;
  concurrency?: number;
}

/** Backoff for a retryable failure: 0.5s, 1s, 2s ... capped at 30s, with jitter. */
export function retryDelayMs(deliveryCount: number): number {
  const base = Math.min(30_000, 500 * 2 ** Math.max(0, deliveryCount - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/**
 * The one place where a handler's outcome becomes an ack policy:
 * returned -> ack (the effect is committed); retryable error or an error we
 * do not know -> nak with delay; a permanent LatchkeyError -> term.
 */
export class ConsumerRunner {
  private messages: ConsumerMessages | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: ConsumerRunnerOptions) {}

  async start(): Promise<void> {
    const consumer = await this.opts.js.consumers.get(this.opts.stream, this.opts.durable);
    const concurrency = this.opts.concurrency ?? 8;
    this.messages = await consumer.consume({ max_messages: concurrency });
    const messages = this.messages;
    this.loop = (async () => {
      for await (const msg of messages) {
        while (this.inFlight.size >= concurrency) await Promise.race(this.inFlight);
        const p = this.handle(msg).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }
    })();
  }

  private async handle(msg: JsMsg): Promise<void> {
    // The child logger is built only when a line is written: most messages log nothing.
    const log = () => this.opts.logger.child({ consumer: this.opts.durable, subject: msg.subject, seq: msg.seq });
    if (msg.info.redelivered) this.opts.onRedelivery?.();
    const limitMs = this.opts.handlerLimitMs ?? HANDLER_LIMIT_MS;
    let timer: NodeJS.Timeout | undefined;
    const overdue = new Promise<'overdue'>((resolve) => {
      timer = setTimeout(() => resolve('overdue'), limitMs);
    });
    const handled = this.opts.handler(msg).then(
      () => ({ ok: true as const }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    try {
      const outcome = await Promise.race([handled, overdue]);
      if (outcome === 'overdue') {
        const delay = retryDelayMs(msg.info.redeliveryCount);
        log().error(
          'event handler still running past its limit: its slot is given back and the event delivered again',
          {
            limitMs,
            delayMs: delay,
            deliveryCount: msg.info.deliveryCount,
          },
        );
        msg.nak(delay);
        return;
      }
      if (outcome.ok) {
        msg.ack();
        return;
      }
      const { err } = outcome;
      if (err instanceof LatchkeyError && !err.retryable) {
        log().error('event rejected permanently', { code: err.code, err });
        msg.term();
        return;
      }
      const delay = retryDelayMs(msg.info.redeliveryCount);
      log().warn('event handling failed; will retry', { delayMs: delay, err });
      msg.nak(delay);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops pulling, waits for the messages in hand. */
  async stop(): Promise<void> {
    if (!this.messages) return;
    await this.messages.close().catch(() => undefined);
    await this.loop?.catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
  }
}
