import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LatchkeyError, type ErrorKind } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';

/** An error as `application/problem+json` (RFC 9457), with the same stable code as over gRPC. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  /** Per field: where in the request (a JSON path into the body, or the parameter) and what is wrong. */
  errors?: { path: string; message: string }[];
}

const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const KIND_TO_STATUS: Record<ErrorKind, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 409,
  internal: 500,
  unimplemented: 501,
  unavailable: 503,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** The problem type URI of a code: stable, one per code. */
const problemType = (code: string): string => `urn:latchkey:problem:${code}`;

export function problem(status: number, code: string, detail: string, errors?: Problem['errors']): Problem {
  return {
    type: problemType(code),
    title: TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
    status,
    detail,
    code,
    ...(errors !== undefined && errors.length > 0 ? { errors } : {}),
  };
}

/** A LatchkeyError (raised here, or a service's, read back from gRPC by fromGrpcError) as a problem. */
export function problemOf(err: LatchkeyError): Problem {
  const { path, message } = err.details;
  const errors = typeof path === 'string' && typeof message === 'string' ? [{ path, message }] : undefined;
  return problem(KIND_TO_STATUS[err.kind], err.code, err.message, errors);
}

/** `/a/0/b` (an Ajv instance path) as the JSON path `$.a[0].b`, the form the services' messages use. */
function jsonPath(instancePath: string): string {
  let out = '$';
  for (const raw of instancePath.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part)
      ? `[${part}]`
      : /^[A-Za-z_$][\w$]*$/.test(part)
        ? `.${part}`
        : `[${JSON.stringify(part)}]`;
  }
  return out;
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Where a schema issue is: a JSON path into the body, or the path or query parameter it names. */
function issuePath(context: string | undefined, issue: AjvIssue): string {
  // The field a `required` or `additionalProperties` issue is about is a parameter of it, not in its path.
  const missing =
    issue.keyword === 'required'
      ? String(issue.params['missingProperty'] ?? '')
      : issue.keyword === 'additionalProperties'
        ? String(issue.params['additionalProperty'] ?? '')
        : '';
  const at = jsonPath(issue.instancePath) + (missing === '' ? '' : jsonPath(`/${missing}`).slice(1));
  if (context === 'params') return `path parameter ${at.replace(/^\$\.?/, '')}`;
  if (context === 'querystring') return `query parameter ${at.replace(/^\$\.?/, '')}`;
  if (context === 'headers') return `header ${at.replace(/^\$\.?/, '')}`;
  return at;
}

function validationProblem(err: FastifyError): Problem {
  const issues = (err.validation ?? []) as AjvIssue[];
  const errors = issues.map((issue) => ({
    path: issuePath(err.validationContext, issue),
    // Ajv's messages name the rule ("must be string"), never the value given.
    message:
      issue.keyword === 'required'
        ? 'is required'
        : issue.keyword === 'additionalProperties'
          ? 'is not a known field (see /api/openapi.json)'
          : issue.keyword === 'enum' && Array.isArray(issue.params['allowedValues'])
            ? `must be one of ${issue.params['allowedValues'].map(String).join(', ')}`
            : (issue.message ?? 'is not valid'),
  }));
  const detail = errors.map((e) => `${e.path}: ${e.message}`).join('; ') || 'the request does not match its schema';
  return problem(400, 'request.invalid', `${detail} (see /api/openapi.json)`, errors);
}

/** The body limit that applied: the gateway's, or a route's own (`bodyLimit`, with `config.bodyLimitNote` saying why). */
interface BodyLimit {
  gateway: number;
  route: number | undefined;
  note: string | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a route with its own `bodyLimit` says in its 413 answer besides the limit. */
    bodyLimitNote?: string;
  }
}

/**
 * Fastify's own request errors. Their messages are replaced by ours: a
 * parser's message can quote the body it could not read, and a body may
 * hold a secret value.
 */
function fastifyProblem(err: FastifyError, limit: BodyLimit): Problem | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem(
        413,
        'request.body_too_large',
        limit.route === undefined || limit.route === limit.gateway
          ? `the request body is larger than ${limit.gateway} bytes, the gateway's limit (LATCHKEY_HTTP_BODY_LIMIT)`
          : `the request body is larger than ${limit.route} bytes, this route's limit${limit.note === undefined ? '' : `: ${limit.note}`}`,
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return problem(400, 'request.invalid_json', 'the request body is not valid JSON');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problem(
        400,
        'request.empty_body',
        'the request has Content-Type application/json and an empty body: send a JSON object',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem(415, 'request.unsupported_media_type', 'send the body as JSON (Content-Type: application/json)');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problem(400, 'request.bad_content_length', 'the Content-Length header does not match the body');
    default:
      return undefined;
  }
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type(PROBLEM_CONTENT_TYPE).send(p);
}

/**
 * The gateway's one mapping of errors to HTTP: a LatchkeyError (its own,
 * or a service's through gRPC) keeps its stable code; a schema violation
 * is 400 naming each JSON path; an oversized body 413; an unknown route
 * 404; anything else 500 with a fixed text (its message is not ours to
 * show), logged.
 */
export function installProblemHandlers(app: FastifyInstance, opts: { logger: Logger; bodyLimit: number }): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof LatchkeyError) {
      const p = problemOf(err);
      if (p.status >= 500) opts.logger.warn('upstream failure', { code: err.code, route: request.routeOptions.url });
      return sendProblem(reply, p);
    }
    const fe = err as FastifyError;
    if (Array.isArray(fe.validation)) return sendProblem(reply, validationProblem(fe));
    const known = fastifyProblem(fe, {
      gateway: opts.bodyLimit,
      route: request.routeOptions.bodyLimit,
      note: request.routeOptions.config.bodyLimitNote,
    });
    if (known !== undefined) return sendProblem(reply, known);
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return sendProblem(reply, problem(fe.statusCode, 'request.invalid', 'the request cannot be read'));
    }
    // Only the error's name and code: its message may come from a library and quote what it was given.
    opts.logger.error('internal error', {
      name: (err as Error).name,
      errCode: fe.code,
      route: request.routeOptions.url,
    });
    return sendProblem(reply, problem(500, 'internal', 'internal error (see the gateway log)'));
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problem(
        404,
        'http.not_found',
        `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200) ?? ''}: the API is described at /api/openapi.json`,
      ),
    ),
  );
}
