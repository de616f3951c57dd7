import type { Scope, SecretMetadata } from '@latchkey/proto';
import type { RouteFamily } from '../route-context.js';
import { SECRET_BODY_LIMIT, SECRET_BODY_LIMIT_NOTE, SMALL_BODY_LIMIT } from './body-limits.js';
import { gatewayRoutes } from './gateway-route.js';
import { answerObject, DOMAIN_PARAMS, listAnswer, NAME_PARAM, paramsObject } from './route-schemas.js';

/** `<N>d`, `<N>h` or `never`, as `latchkey secret put --rotate-every` takes it; the catalog checks the bounds. */
const ROTATE_EVERY = {
  type: 'string',
  pattern: '^(\\d{1,6}[dh]|never)$',
  description: '"<N>d" or "<N>h" (e.g. "90d") sets the rotation policy, "never" removes it',
} as const;

export const SCOPE_ANSWER = answerObject({
  domain: { type: 'string', description: 'the domain ("" in global scope)' },
  global: 'boolean',
});

/**
 * A secret's metadata. The properties are exactly these: the serializer
 * writes nothing else, and there is no value among them.
 */
export const SECRET_ANSWER = answerObject(
  {
    scope: SCOPE_ANSWER,
    key: 'string',
    source: { type: 'string', description: 'the backend that holds the value (database, kubernetes, vault)' },
    version: 'integer',
    createdAt: 'string',
    updatedAt: 'string',
    updatedBy: 'string',
    description: 'string',
    rotateEvery: { type: 'string', description: 'the rotation policy ("90d"), "" when none' },
  },
  { description: "A secret's metadata: never its value" },
);

const DELETE_ANSWER = {
  type: 'object',
  required: ['deleted', 'dependents', 'recoverUntil'],
  properties: {
    deleted: SECRET_ANSWER,
    recoverUntil: {
      type: 'string',
      description: 'restorable until then (POST …/secrets/{key}/restore); "" when its values were destroyed now',
    },
    dependents: {
      type: 'array',
      description: 'the workloads ("domain/name") that referenced it, now stale',
      items: { type: 'string' },
    },
  },
} as const;

const PUT_BODY = {
  type: 'object',
  required: ['value'],
  additionalProperties: false,
  properties: {
    value: {
      type: 'string',
      minLength: 1,
      description: 'The value (UTF-8). Write-only: no answer, error or log line ever holds it',
      writeOnly: true,
    },
    description: { type: 'string', maxLength: 1024 },
    rotateEvery: ROTATE_EVERY,
  },
} as const;

const POLICY_BODY = {
  type: 'object',
  required: ['rotateEvery'],
  additionalProperties: false,
  properties: { rotateEvery: ROTATE_EVERY },
} as const;

export const KEY_PARAMS = paramsObject({ key: NAME_PARAM });
export const DOMAIN_KEY_PARAMS = paramsObject({ domain: NAME_PARAM, key: NAME_PARAM });
const FORCE_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    force: { type: 'boolean', description: 'delete even while workloads reference it (they become stale)' },
    recoveryDays: {
      type: 'integer',
      minimum: 0,
      maximum: 30,
      description: 'days it stays restorable (default 7); 0 destroys its values now',
    },
  },
} as const;

export interface ScopeParams {
  domain?: string;
  key?: string;
}

/** The scope a route's params name: :domain's, or global on the /global routes. */
export const scopeOf = (params: ScopeParams): Scope =>
  params.domain === undefined ? { domain: '', global: true } : { domain: params.domain, global: false };

/** The secret a keyed route's params name: its scope and key. */
export const secretOf = (params: ScopeParams): { scope: Scope; key: string } => ({
  scope: scopeOf(params),
  key: params.key ?? '',
});

/** Exactly the answer's properties, so nothing the catalog may add later reaches a caller by accident. */
export function secretJson(m: SecretMetadata | undefined) {
  return {
    scope: { domain: m?.scope?.domain ?? '', global: m?.scope?.global ?? false },
    key: m?.key ?? '',
    source: m?.source ?? '',
    version: m?.version ?? 0,
    createdAt: m?.createdAt ?? '',
    updatedAt: m?.updatedAt ?? '',
    updatedBy: m?.updatedBy ?? '',
    description: m?.description ?? '',
    rotateEvery: m?.rotateEvery ?? '',
  };
}

/**
 * What `latchkey secret list|put|delete|policy` (domain and `--global`)
 * and `latchkey kek rotate` do, over HTTP, as the caller. A value goes in
 * a PUT body only and never comes out: the answers are metadata.
 */
export const secretRoutes: RouteFamily = async (app, { upstream }) => {
  const route = gatewayRoutes(app, ['secrets']);
  const scopes = [
    { base: '/api/v1/domains/:domain/secrets', where: "the domain's", params: DOMAIN_PARAMS, keyed: DOMAIN_KEY_PARAMS },
    {
      base: '/api/v1/global/secrets',
      where: 'global (readable by every domain, written by platform admins only)',
      params: undefined,
      keyed: KEY_PARAMS,
    },
  ] as const;
  for (const { base, where, params, keyed } of scopes) {
    route<ScopeParams>(
      'GET',
      base,
      {
        summary: `List ${where} secrets: metadata only, never a value (latchkey secret list)`,
        ...(params === undefined ? {} : { params }),
        answer: listAnswer('secrets', SECRET_ANSWER),
      },
      async (request) => {
        const scope = scopeOf(request.params);
        const res = await upstream.call(request.caller(), 'catalog', (c) => c.listSecrets, { scope, deleted: false });
        return { secrets: res.secrets.map(secretJson) };
      },
    );
    route<ScopeParams, unknown, { value: string; description?: string; rotateEvery?: string }>(
      'PUT',
      `${base}/:key`,
      {
        bodyLimit: SECRET_BODY_LIMIT,
        bodyLimitNote: SECRET_BODY_LIMIT_NOTE,
        summary: `Create one of ${where} secrets, or store a new version of it (latchkey secret put)`,
        description:
          'The value is in the body and nowhere else; the answer is the new version\'s metadata. `rotateEvery` sets ("90d") or removes ("never") the rotation policy; absent, the policy is kept.',
        params: keyed,
        body: PUT_BODY,
        answer: SECRET_ANSWER,
      },
      async (request) => {
        const { body } = request;
        const value = Buffer.from(body.value, 'utf8');
        try {
          const meta = await upstream.call(request.caller(), 'catalog', (c) => c.putSecret, {
            ...secretOf(request.params),
            value,
            description: body.description ?? '',
            ...(body.rotateEvery === undefined ? {} : { rotateEvery: body.rotateEvery }),
          });
          return secretJson(meta);
        } finally {
          value.fill(0);
        }
      },
    );
    route<ScopeParams, { force?: boolean; recoveryDays?: number }>(
      'DELETE',
      `${base}/:key`,
      {
        summary: `Delete one of ${where} secrets, restorable for ?recoveryDays (default 7; 0 destroys its values now); refused while workloads reference it unless ?force=true (latchkey secret delete)`,
        params: keyed,
        querystring: FORCE_QUERY,
        answer: DELETE_ANSWER,
      },
      async (request) => {
        const { query } = request;
        const res = await upstream.call(request.caller(), 'catalog', (c) => c.deleteSecret, {
          ...secretOf(request.params),
          force: query.force === true,
          ...(query.recoveryDays === undefined ? {} : { recoveryDays: query.recoveryDays }),
        });
        return { deleted: secretJson(res.deleted), dependents: [...res.dependents], recoverUntil: res.recoverUntil };
      },
    );
    route<ScopeParams, unknown, { rotateEvery: string }>(
      'PUT',
      `${base}/:key/rotation-policy`,
      {
        bodyLimit: SMALL_BODY_LIMIT,
        summary: `Set or remove ("never") the rotation policy of one of ${where} secrets, without a new version (latchkey secret policy)`,
        params: keyed,
        body: POLICY_BODY,
        answer: SECRET_ANSWER,
      },
      async (request) => {
        const req = { ...secretOf(request.params), rotateEvery: request.body.rotateEvery };
        return secretJson(await upstream.call(request.caller(), 'catalog', (c) => c.setRotationPolicy, req));
      },
    );
  }
  route(
    'POST',
    '/api/v1/kek/rotate',
    {
      summary:
        "Rotate the key-encryption key: re-wrap every data key, values' ciphertext untouched (latchkey kek rotate; platform admins)",
      answer: answerObject({ newKekId: 'string', rewrapped: 'integer', retiredKekIds: 'string[]' }),
    },
    async (request) => {
      const res = await upstream.call(request.caller(), 'catalog', (c) => c.rotateKek, {});
      return { newKekId: res.newKekId, rewrapped: res.rewrapped, retiredKekIds: [...res.retiredKekIds] };
    },
  );
};
