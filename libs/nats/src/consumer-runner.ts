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
}

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
    try {
      await this.opts.handler(msg);
      msg.ack();
    } catch (err) {
      if (err instanceof LatchkeyError && !err.retryable) {
        log().error('event rejected permanently', { code: err.code, err });
        msg.term();
        return;
      }
      const delay = retryDelayMs(msg.info.redeliveryCount);
      log().warn('event handling failed; will retry', { delayMs: delay, err });
      msg.nak(delay);
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
