import type { Scope, SecretMetadata } from '@latchkey/proto';
import type { RouteFamily } from '../route-context.js';
import { bodyLimit, SECRET_BODY_LIMIT, SECRET_BODY_LIMIT_NOTE, SMALL_BODY_LIMIT } from './body-limits.js';
import { answerObject, DOMAIN_PARAMS, ERRORS, NAME_PARAM } from './route-schemas.js';

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

export const KEY_PARAMS = { type: 'object', required: ['key'], properties: { key: NAME_PARAM } } as const;
export const DOMAIN_KEY_PARAMS = {
  type: 'object',
  required: ['domain', 'key'],
  properties: { domain: NAME_PARAM, key: NAME_PARAM },
} as const;
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
  const tags = ['secrets'];
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
    app.get(
      base,
      {
        schema: {
          tags,
          summary: `List ${where} secrets: metadata only, never a value (latchkey secret list)`,
          ...(params === undefined ? {} : { params }),
          response: {
            200: {
              type: 'object',
              required: ['secrets'],
              properties: { secrets: { type: 'array', items: SECRET_ANSWER } },
            },
            ...ERRORS,
          },
        },
      },
      async (request) => {
        const scope = scopeOf(request.params as ScopeParams);
        const res = await upstream.call(request.caller(), 'catalog', (c) => c.listSecrets, { scope, deleted: false });
        return { secrets: res.secrets.map(secretJson) };
      },
    );
    app.put(
      `${base}/:key`,
      {
        bodyLimit: bodyLimit(app, SECRET_BODY_LIMIT),
        config: { bodyLimitNote: SECRET_BODY_LIMIT_NOTE },
        schema: {
          tags,
          summary: `Create one of ${where} secrets, or store a new version of it (latchkey secret put)`,
          description:
            'The value is in the body and nowhere else; the answer is the new version\'s metadata. `rotateEvery` sets ("90d") or removes ("never") the rotation policy; absent, the policy is kept.',
          params: keyed,
          body: PUT_BODY,
          response: { 200: SECRET_ANSWER, ...ERRORS },
        },
      },
      async (request) => {
        const scope = scopeOf(request.params as ScopeParams);
        const { key = '' } = request.params as ScopeParams;
        const body = request.body as { value: string; description?: string; rotateEvery?: string };
        const value = Buffer.from(body.value, 'utf8');
        try {
          const meta = await upstream.call(request.caller(), 'catalog', (c) => c.putSecret, {
            scope,
            key,
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
    app.delete(
      `${base}/:key`,
      {
        schema: {
          tags,
          summary: `Delete one of ${where} secrets, restorable for ?recoveryDays (default 7; 0 destroys its values now); refused while workloads reference it unless ?force=true (latchkey secret delete)`,
          params: keyed,
          querystring: FORCE_QUERY,
          response: { 200: DELETE_ANSWER, ...ERRORS },
        },
      },
      async (request) => {
        const scope = scopeOf(request.params as ScopeParams);
        const { key = '' } = request.params as ScopeParams;
        const query = request.query as { force?: boolean; recoveryDays?: number };
        const res = await upstream.call(request.caller(), 'catalog', (c) => c.deleteSecret, {
          scope,
          key,
          force: query.force === true,
          ...(query.recoveryDays === undefined ? {} : { recoveryDays: query.recoveryDays }),
        });
        return { deleted: secretJson(res.deleted), dependents: [...res.dependents], recoverUntil: res.recoverUntil };
      },
    );
    app.put(
      `${base}/:key/rotation-policy`,
      {
        bodyLimit: bodyLimit(app, SMALL_BODY_LIMIT),
        schema: {
          tags,
          summary: `Set or remove ("never") the rotation policy of one of ${where} secrets, without a new version (latchkey secret policy)`,
          params: keyed,
          body: POLICY_BODY,
          response: { 200: SECRET_ANSWER, ...ERRORS },
        },
      },
      async (request) => {
        const scope = scopeOf(request.params as ScopeParams);
        const { key = '' } = request.params as ScopeParams;
        const { rotateEvery } = request.body as { rotateEvery: string };
        return secretJson(
          await upstream.call(request.caller(), 'catalog', (c) => c.setRotationPolicy, { scope, key, rotateEvery }),
        );
      },
    );
  }
  app.post(
    '/api/v1/kek/rotate',
    {
      schema: {
        tags,
        summary:
          "Rotate the key-encryption key: re-wrap every data key, values' ciphertext untouched (latchkey kek rotate; platform admins)",
        response: {
          200: answerObject({ newKekId: 'string', rewrapped: 'integer', retiredKekIds: 'string[]' }),
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const res = await upstream.call(request.caller(), 'catalog', (c) => c.rotateKek, {});
      return { newKekId: res.newKekId, rewrapped: res.rewrapped, retiredKekIds: [...res.retiredKekIds] };
    },
  );
};
