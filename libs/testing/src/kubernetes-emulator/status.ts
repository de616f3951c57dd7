/** JSON values, the Status body of a failure and the failures the emulator answers. */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** Which resource a request addresses, as far as its path says. */
export interface RequestTarget {
  resource: string | undefined;
  namespace: string | undefined;
  name: string | undefined;
}

/** One entry of a 422's `details.causes`. */
export interface Cause {
  reason: string;
  message: string;
  field: string;
}

export const cause = (reason: string, message: string, field: string): Cause => ({ reason, message, field });

/** A failure answered as `status` with a Status `body`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: JsonObject,
  ) {
    super(typeof body.message === 'string' ? body.message : `HTTP ${status}`);
  }
}

export const CONFLICT_SUFFIX =
  'the object has been modified; please apply your changes to the latest version and try again';

export function statusBody(code: number, reason: string, message: string, details?: JsonObject): JsonObject {
  const body: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details !== undefined) body.details = details;
  body.code = code;
  return body;
}

export function fail(code: number, reason: string, message: string, details?: JsonObject): HttpError {
  return new HttpError(code, statusBody(code, reason, message, details));
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

export function meta(obj: JsonObject): JsonObject {
  if (!isObject(obj.metadata)) obj.metadata = {};
  return obj.metadata as JsonObject;
}

export function kubeTimestamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** 422 Invalid with the causes, summarised in the message as the API server does. */
export function invalid(kind: string, name: string, causes: Cause[]): HttpError {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const summary = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return fail(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, {
    name,
    group: '',
    kind,
    causes: causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field })),
  });
}

/** The body parsed as JSON; 400 BadRequest naming `what` when it is not. */
export function parseJson(text: string, what: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw fail(400, 'BadRequest', `${what}: ${err instanceof Error ? err.message : 'invalid JSON'}`);
  }
}

export function notFound(resource: string, name: string): HttpError {
  return fail(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
}

export function conflict(resource: string, name: string): HttpError {
  return fail(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": ${CONFLICT_SUFFIX}`, {
    name,
    kind: resource,
  });
}

function forbiddenMessage(method: string, route: RequestTarget): string {
  const verb =
    {
      GET: route.name === undefined ? 'list' : 'get',
      POST: 'create',
      PUT: 'update',
      PATCH: 'patch',
      DELETE: 'delete',
    }[method] ?? method.toLowerCase();
  const resource = route.resource ?? 'resource';
  const subject = route.name === undefined ? `${resource} is forbidden` : `${resource} "${route.name}" is forbidden`;
  const where = route.namespace === undefined ? 'at the cluster scope' : `in the namespace "${route.namespace}"`;
  return `${subject}: User "system:serviceaccount:latchkey:emulator" cannot ${verb} resource "${resource}" in API group "" ${where}`;
}

/** The Status body of a failure injected by `failNext`, shaped like the real one for that status. */
export function injectedFailure(status: number, method: string, route: RequestTarget): JsonObject {
  const reason = REASONS[status] ?? 'Unknown';
  const details: JsonObject | undefined =
    route.name !== undefined && route.resource !== undefined ? { name: route.name, kind: route.resource } : undefined;
  switch (status) {
    case 401:
      return statusBody(401, 'Unauthorized', 'Unauthorized');
    case 403:
      return statusBody(403, 'Forbidden', forbiddenMessage(method, route), details ?? { kind: route.resource ?? '' });
    case 404:
      return statusBody(404, 'NotFound', `${route.resource ?? 'resource'} "${route.name ?? ''}" not found`, details);
    case 409:
      return statusBody(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${route.resource ?? 'resource'} "${route.name ?? ''}": ${CONFLICT_SUFFIX}`,
        details,
      );
    case 429:
      return statusBody(429, 'TooManyRequests', 'Too many requests, please try again later.', {
        retryAfterSeconds: 1,
      });
    case 500:
      return statusBody(500, 'InternalError', 'Internal error occurred: injected by the emulator', details);
    case 503:
      return statusBody(503, 'ServiceUnavailable', 'the server is currently unable to handle the request', details);
    case 504:
      return statusBody(504, 'Timeout', 'the server was unable to return a response in the time allotted', details);
    default:
      return statusBody(status, reason, `injected failure (HTTP ${status})`, details);
  }
}
