import { PROBLEM_REF } from '../openapi.js';

/**
 * The envelope schemas the route families share. They check only what the
 * gateway itself needs (path parameters are short strings, a body is a JSON
 * object): the services check names and documents and say what is wrong,
 * with the same messages as for the CLI.
 */
export const NAME_PARAM = { type: 'string', minLength: 1, maxLength: 253 } as const;

export const DOMAIN_PARAMS = paramsObject({ domain: NAME_PARAM });

export const DOMAIN_NAME_PARAMS = paramsObject({ domain: NAME_PARAM, name: NAME_PARAM });

/** Any JSON object (a workload document, as the seed's payloads are). */
export const OBJECT_BODY = { type: 'object', additionalProperties: true } as const;

/** `?stale=true`: only the stale workloads. */
export const STALE_QUERY = {
  type: 'object',
  properties: { stale: { type: 'boolean', description: 'only the stale workloads' } },
} as const;

/** A JSON object answer described by its main properties (the rest as the services answer them). */
export function objectAnswer(description: string, properties: Record<string, unknown> = {}) {
  return { type: 'object', description, additionalProperties: true, properties } as const;
}

/** A property of an answer: a JSON type by name (`'string[]'`: an array of strings), or its own schema. */
export type AnswerProperty = 'string' | 'integer' | 'boolean' | 'string[]' | object;

function propertySchema(p: AnswerProperty): object {
  if (typeof p !== 'string') return p;
  return p === 'string[]' ? { type: 'array', items: { type: 'string' } } : { type: p };
}

/**
 * An answer object whose properties are all present (`required`), save
 * those named `optional`: `answerObject({ name: 'string', grantee: GRANTEE_ANSWER })`.
 */
export function answerObject(
  properties: Record<string, AnswerProperty>,
  opts: { description?: string; optional?: readonly string[] } = {},
) {
  const names = Object.keys(properties);
  return {
    type: 'object',
    ...(opts.description === undefined ? {} : { description: opts.description }),
    required: names.filter((n) => !opts.optional?.includes(n)),
    properties: Object.fromEntries(names.map((n) => [n, propertySchema(properties[n] as AnswerProperty)])),
  } as const;
}

/** Path parameters, every one of them required: `paramsObject({ domain: NAME_PARAM })`. */
export function paramsObject(properties: Record<string, object>) {
  return answerObject(properties);
}

/** An answer holding one list: `{ [name]: [item, ...] }`. */
export function listAnswer(name: string, items: object, description?: string) {
  const list = description === undefined ? { type: 'array', items } : { type: 'array', description, items };
  return { type: 'object', required: [name], properties: { [name]: list } } as const;
}

/** The `default` (error) answer every route has. */
export const ERRORS = { default: PROBLEM_REF } as const;
