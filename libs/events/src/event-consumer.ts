import type { JsMsg, Msg, NatsConnection, Subscription } from 'nats';
import { LatchkeyError } from '@latchkey/errors';
import { inSpan, type Logger } from '@latchkey/logger';
import type { MessageHandler } from '@latchkey/nats';
import { decodeEvent, type CloudEvent } from './envelope.js';

/**
 * The one path from a NATS message to a typed event handler, for durable
 * consumers and plain subscriptions alike: the CloudEvent envelope is
 * decoded, its `type` checked (when one is expected), and the handler runs in
 * a span continuing the producer's trace. A malformed message or one of
 * another type fails with a permanent LatchkeyError (event.malformed,
 * event.unexpected_type).
 */
async function handleEvent<T, M extends JsMsg | Msg>(
  name: string,
  type: string | undefined,
  msg: M,
  handle: (event: CloudEvent<T>, msg: M) => Promise<void> | void,
  worthDecoding?: (body: Uint8Array) => boolean,
): Promise<void> {
  if (
    worthDecoding !== undefined &&
    type !== undefined &&
    msg.headers?.get('ce-type') === type &&
    msg.headers.get('ce-id') !== '' &&
    !worthDecoding(msg.data)
  ) {
    return;
  }
  const { event, trace } = decodeEvent<T>(msg);
  if (type !== undefined && event.type !== type) {
    throw new LatchkeyError(
      'event.unexpected_type',
      `${name}: the event ${event.id} on ${msg.subject} is of type ${event.type}, not ${type}`,
    );
  }
  await inSpan(name, async () => handle(event, msg), trace, {
    kind: 'consumer',
    attributes: {
      'messaging.system': 'nats',
      'messaging.destination.name': msg.subject,
      'messaging.message.id': event.id,
      'cloudevents.event_type': event.type,
    },
  });
}

/**
 * Adapts a typed CloudEvent handler to the consumer runner (which turns its
 * outcome into ack, nak or term). `type`: the CloudEvents type it accepts.
 * `worthDecoding` (with `type`): a cheap look at the raw body; an event of
 * that type whose body it says no to is done with (acknowledged) without
 * being parsed or handled, so it must say no only to bodies the handler
 * would do nothing with.
 */
export function eventHandler<T>(
  name: string,
  handle: (event: CloudEvent<T>, msg: JsMsg) => Promise<void>,
  options: { type?: string; worthDecoding?: (body: Uint8Array) => boolean } = {},
): MessageHandler {
  return (msg) => handleEvent(name, options.type, msg, handle, options.worthDecoding);
}

/** A plain core-NATS subscription heard by every replica, handled like a durable consumer's messages. */
export interface EventSubscription<T> {
  /** The span's and the log's name, e.g. `deployer/workload.deployed`. */
  name: string;
  /** A subject filter, from `subjects` (e.g. `subjects.deployed('>')`). */
  subject: string;
  /** The CloudEvents type it accepts. */
  type: string;
  handle: (event: CloudEvent<T>, msg: Msg) => Promise<void> | void;
}

/**
 * Subscribes `spec.handle` to `spec.subject` on core NATS (no
 * acknowledgement, no redelivery: every replica hears each message once, as
 * it is published). A message that cannot be handled is logged and dropped.
 */
export function subscribeEvents<T>(nc: NatsConnection, logger: Logger, spec: EventSubscription<T>): Subscription {
  const log = logger.child({ subscription: spec.name });
  return nc.subscribe(spec.subject, {
    callback: (err, msg) => {
      if (err) {
        log.warn('subscription error', { err });
        return;
      }
      void handleEvent(spec.name, spec.type, msg, spec.handle).catch((e: unknown) => {
        log.warn('event not handled', {
          subject: msg.subject,
          code: e instanceof LatchkeyError ? e.code : 'internal',
          err: e,
        });
      });
    },
  });
}
