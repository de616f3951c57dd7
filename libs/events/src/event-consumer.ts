import type { JsMsg } from 'nats';
import { inSpan } from '@latchkey/logger';
import type { MessageHandler } from '@latchkey/nats';
import { decodeEvent, type CloudEvent } from './envelope.js';

/** Adapts a typed CloudEvent handler to the consumer runner, continuing the producer's trace. */
export function eventHandler<T>(
  name: string,
  handle: (event: CloudEvent<T>, msg: JsMsg) => Promise<void>,
): MessageHandler {
  return async (msg) => {
    const { event, trace } = decodeEvent<T>(msg);
    await inSpan(name, () => handle(event, msg), trace);
  };
}
