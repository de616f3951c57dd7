import { PROBLEM_REF } from '../openapi.js';

/**
 * The envelope schemas the route families share. They check only what the
 * gateway itself needs (path parameters are short strings, a body is a JSON
 * object): the services check names and documents and say what is wrong,
 * with the same messages as for the CLI.
 */
export const NAME_PARAM = { type: 'string', minLength: 1, maxLength: 253 } as const;

export const DOMAIN_PARAMS = {
  type: 'object',
  required: ['domain'],
  properties: { domain: NAME_PARAM },
} as const;

export const DOMAIN_NAME_PARAMS = {
  type: 'object',
  required: ['domain', 'name'],
  properties: { domain: NAME_PARAM, name: NAME_PARAM },
} as const;

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

/** The `default` (error) answer every route has. */
export const ERRORS = { default: PROBLEM_REF } as const;
