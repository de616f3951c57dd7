import { randomUUID } from 'node:crypto';
import { headers as natsHeaders, type JsMsg, type Msg, type MsgHdrs } from 'nats';
import { LatchkeyError } from '@latchkey/errors';
import { extractTraceContext, injectTraceHeaders } from '@latchkey/logger';
import type { Context } from '@opentelemetry/api';

/** A CloudEvent (binary mode over NATS: attributes in `ce-*` headers, JSON data in the body). */
export interface CloudEvent<T> {
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  data: T;
}

export interface OutgoingEvent<T> {
  type: string;
  subject: string;
  data: T;
  /** Deterministic ids make re-publishing a no-op (JetStream drops duplicates by Nats-Msg-Id). */
  id?: string;
}

export function newEventId(): string {
  return randomUUID();
}

/** Headers for one event, with the active trace context. */
export function eventHeaders(
  ev: { id: string; source: string; type: string; time: string; subject: string },
  trace?: Record<string, string>,
): MsgHdrs {
  const h = natsHeaders();
  h.set('ce-specversion', '1.0');
  h.set('ce-id', ev.id);
  h.set('ce-source', ev.source);
  h.set('ce-type', ev.type);
  h.set('ce-time', ev.time);
  h.set('ce-subject', ev.subject);
  h.set('content-type', 'application/json');
  const carrier: Record<string, string> = { ...trace };
  if (!trace) injectTraceHeaders(carrier);
  for (const [k, v] of Object.entries(carrier)) h.set(k, v);
  return h;
}

/**
 * A message of a durable consumer (JsMsg) or of a plain core-NATS
 * subscription (Msg) as a CloudEvent. A message without CloudEvents headers
 * or whose body is not JSON fails with event.malformed (permanent).
 */
/** One decoder for every event body (decode() without `stream` keeps no state between calls; a new one costs more than a small body's decoding). */
const utf8 = new TextDecoder();

export function decodeEvent<T>(msg: JsMsg | Msg): { event: CloudEvent<T>; trace: Context } {
  const h = msg.headers;
  const id = h?.get('ce-id');
  const type = h?.get('ce-type');
  const which = 'seq' in msg ? `message ${msg.seq} on ${msg.subject}` : `a message on ${msg.subject}`;
  if (!h || !id || !type) {
    throw new LatchkeyError('event.malformed', `${which} has no CloudEvents headers`);
  }
  let data: T;
  try {
    data = JSON.parse(utf8.decode(msg.data)) as T;
  } catch {
    throw new LatchkeyError('event.malformed', `${which} is not JSON`);
  }
  const carrier: Record<string, string | undefined> = {
    traceparent: h.get('traceparent') || undefined,
    tracestate: h.get('tracestate') || undefined,
  };
  return {
    event: {
      id,
      type,
      source: h.get('ce-source'),
      subject: h.get('ce-subject') || msg.subject,
      time: h.get('ce-time'),
      data,
    },
    trace: extractTraceContext(carrier),
  };
}
