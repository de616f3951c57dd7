import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { asyncApiDocument } from './asyncapi.js';

/**
 * Checks bus messages against an AsyncAPI 3.0 document (by default the one
 * of the public events): which channel a subject belongs to, the message's
 * headers and payload against their JSON Schemas (ajv), and each channel
 * parameter against the message field its `location` names. What the
 * end-to-end tests run on every event they publish.
 */

/** A message as it was on the bus. */
export interface BusMessage {
  subject: string;
  headers: Record<string, string>;
  /** The body as received (JSON text). */
  data: Uint8Array | string;
  /** The stream sequence, when read from a stream. */
  seq?: number;
}

export interface MessageCheck {
  /** The documented channel the subject belongs to. */
  channel: string;
  /** Empty when the message is as documented; else one line per problem, naming subject, message id and field. */
  problems: string[];
}

export interface EventContract {
  /** The check of a message on a documented subject; undefined when the document does not describe its subject. */
  check(msg: BusMessage): MessageCheck | undefined;
}

type Json = Record<string, unknown>;

/** The value a local `$ref` (`#/a/b`) points to in `doc`, or undefined. */
export function resolveRef(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  return resolvePointer(doc, ref.slice(1));
}

/** A JSON Pointer (RFC 6901, `/a/b`) into `value`, or undefined. */
export function resolvePointer(value: unknown, pointer: string): unknown {
  if (pointer === '') return value;
  if (!pointer.startsWith('/')) return undefined;
  let at: unknown = value;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, token)) return undefined;
    at = (at as Json)[token];
  }
  return at;
}

/** Follows `$ref`s until an object that is not one. */
function deref(doc: Json, value: unknown): Json {
  let at = value;
  for (let hops = 0; hops < 16 && at !== null && typeof at === 'object' && '$ref' in at; hops++) {
    at = resolveRef(doc, String((at as Json).$ref));
  }
  if (at === null || typeof at !== 'object') throw new Error(`the AsyncAPI document has a $ref that does not resolve`);
  return at as Json;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface CompiledChannel {
  name: string;
  address: RegExp;
  parameters: { name: string; location?: string }[];
  messages: { name: string; headers?: ValidateFunction; payload: ValidateFunction }[];
}

const describe = (e: ErrorObject): string => {
  const where = e.instancePath === '' ? ':' : ` at ${e.instancePath}:`;
  const p = e.params as Record<string, unknown>;
  const detail =
    e.keyword === 'additionalProperties'
      ? ` (${JSON.stringify(p.additionalProperty)} is not documented)`
      : e.keyword === 'const' || e.keyword === 'enum'
        ? ` (${JSON.stringify(p.allowedValue ?? p.allowedValues)})`
        : '';
  return `${where} ${e.message ?? e.keyword}${detail}`;
};

/** The location `$message.header#/x` or `$message.payload#/x` of a message, or undefined when it is not there. */
function atLocation(location: string, headers: Json, payload: unknown): unknown {
  const m = /^\$message\.(header|payload)#(.*)$/.exec(location);
  if (!m) return undefined;
  return resolvePointer(m[1] === 'header' ? headers : payload, m[2]!);
}

/** Compiles every channel of `doc` (an AsyncAPI 3.0 document whose schemas are JSON Schema draft 07). */
export function eventContract(doc: Json = asyncApiDocument()): EventContract {
  const ajv = new Ajv({ strict: true, allErrors: true });
  addFormatsPlugin.default(ajv);
  // The document's channels and components are the schema store, so that `#/components/...`
  // references resolve as in the document; they are not JSON Schema keywords, and ajv (strict) is told so.
  ajv.addVocabulary(['channels', 'components']);
  ajv.addSchema({ channels: doc.channels, components: doc.components }, 'asyncapi', undefined, false);
  const compile = (path: string) => {
    const v = ajv.getSchema(`asyncapi#${path}`);
    if (!v) throw new Error(`the AsyncAPI document has no schema at ${path}`);
    return v;
  };
  const channels: CompiledChannel[] = Object.entries(deref(doc, doc.channels)).map(([name, raw]) => {
    const ch = deref(doc, raw);
    const address = String(ch.address);
    const parameters = Object.entries((ch.parameters ?? {}) as Json).map(([p, v]) => {
      const location = deref(doc, v).location;
      return { name: p, ...(typeof location === 'string' ? { location } : {}) };
    });
    const pattern = address
      .split(/(\{[^}]+\})/)
      .map((part) => (/^\{[^}]+\}$/.test(part) ? '([^.]+)' : escapeRegExp(part)))
      .join('');
    const messages = Object.entries(deref(doc, ch.messages ?? {})).map(([m, mref]) => {
      // Compile through the message's own pointer so that its $refs resolve as ajv resolves them.
      const messagePath = messageSchemaPath(mref, `/channels/${name}/messages/${m}`);
      const message = deref(doc, mref);
      return {
        name: m,
        payload: compile(`${messagePath}/payload`),
        ...(message.headers === undefined ? {} : { headers: compile(`${messagePath}/headers`) }),
      };
    });
    return { name, address: new RegExp(`^${pattern}$`), parameters, messages };
  });

  return {
    check(msg) {
      for (const ch of channels) {
        const tokens = ch.address.exec(msg.subject);
        if (!tokens) continue;
        const id = msg.headers['ce-id'] ?? '(no ce-id)';
        const where = `${msg.subject} message ${id}${msg.seq === undefined ? '' : ` (stream seq ${msg.seq})`}`;
        let payload: unknown;
        try {
          payload = JSON.parse(typeof msg.data === 'string' ? msg.data : new TextDecoder().decode(msg.data));
        } catch {
          return { channel: ch.name, problems: [`${where}: the body is not JSON`] };
        }
        // A channel may carry several messages: the message is valid when one of them accepts it.
        const perMessage = ch.messages.map((m) => {
          const problems: string[] = [];
          if (m.headers && !m.headers(msg.headers)) {
            for (const e of m.headers.errors ?? []) problems.push(`${where}: headers${describe(e)}`);
          }
          if (!m.payload(payload)) {
            for (const e of m.payload.errors ?? []) problems.push(`${where}: payload${describe(e)}`);
          }
          // allOf branches may report one missing header twice.
          return [...new Set(problems)];
        });
        const problems = perMessage.find((p) => p.length === 0) ?? perMessage.flat();
        ch.parameters.forEach((p, i) => {
          const token = tokens[i + 1];
          if (p.location === undefined) return;
          const value = atLocation(p.location, msg.headers, payload);
          if (value !== token) {
            problems.push(
              `${where}: the subject's {${p.name}} is ${JSON.stringify(token)} but ${p.location} is ${JSON.stringify(value)}`,
            );
          }
        });
        if (msg.headers['ce-subject'] !== undefined && msg.headers['ce-subject'] !== msg.subject) {
          problems.push(`${where}: header ce-subject is ${JSON.stringify(msg.headers['ce-subject'])}, not the subject`);
        }
        const msgId = msg.headers['Nats-Msg-Id'];
        if (msgId !== undefined && msgId !== msg.headers['ce-id']) {
          problems.push(`${where}: header Nats-Msg-Id is ${JSON.stringify(msgId)}, not the event id`);
        }
        return { channel: ch.name, problems };
      }
      return undefined;
    },
  };
}

/** The JSON pointer of a channel's message: where its `$ref` points (`/components/messages/x`), else its own place. */
function messageSchemaPath(mref: unknown, own: string): string {
  if (mref !== null && typeof mref === 'object' && '$ref' in mref) {
    const r = String((mref as Json).$ref);
    if (r.startsWith('#/')) return r.slice(1);
  }
  return own;
}
