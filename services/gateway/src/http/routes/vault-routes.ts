import type { UpdateVaultIntegrationRequest, VaultIntegration, VaultSettings } from '@latchkey/proto';
import type { RouteFamily } from '../route-context.js';
import { bodyLimit, VAULT_BODY_LIMIT } from './body-limits.js';
import { answerObject, DOMAIN_PARAMS, ERRORS, NAME_PARAM } from './route-schemas.js';

const AUTH_METHODS = ['token', 'approle'] as const;
const LAYOUTS = ['children', 'fields'] as const;

const CREDENTIAL = {
  type: 'string',
  minLength: 1,
  writeOnly: true,
  description:
    'The Vault token (auth "token") or AppRole secret id (auth "approle"). Write-only: stored encrypted, never returned, logged or quoted in an error',
} as const;

/** The settings fields, as `latchkey vault create|update|test` takes them. */
const SETTINGS_PROPERTIES = {
  host: { type: 'string', minLength: 1, description: 'the Vault address, e.g. https://vault.example:8200' },
  path: {
    type: 'string',
    minLength: 1,
    description:
      'the KV v2 path, e.g. /v1/secret/data/team/app, or a dynamic-secrets path, e.g. /v1/database/creds/etl',
  },
  namespace: { type: 'string', description: 'Vault Enterprise namespace; "" for none' },
  authMethod: { type: 'string', enum: AUTH_METHODS },
  roleId: { type: 'string', description: 'the AppRole role id (auth "approle" only)' },
  layout: {
    type: 'string',
    enum: LAYOUTS,
    description:
      'children (default: each key a child secret holding {"value"}) or fields (one secret, a key per field)',
  },
  credential: CREDENTIAL,
} as const;

const SETTINGS_REQUIRED = ['host', 'path', 'authMethod', 'credential'] as const;

const CREATE_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'bundle', ...SETTINGS_REQUIRED],
  properties: {
    name: { type: 'string', minLength: 1 },
    bundle: { type: 'string', minLength: 1, description: 'the resource bundle; fixed after creation' },
    ...SETTINGS_PROPERTIES,
  },
} as const;

const UPDATE_BODY = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    name: { type: 'string', minLength: 1 },
    bundle: { type: 'string', description: 'refused: a bundle is fixed at creation' },
    ...SETTINGS_PROPERTIES,
  },
} as const;

const TEST_BODY = {
  type: 'object',
  additionalProperties: false,
  required: [...SETTINGS_REQUIRED],
  properties: SETTINGS_PROPERTIES,
} as const;

/** An integration as answered: exactly these properties, none of them a credential. */
export const VAULT_ANSWER = answerObject(
  {
    id: 'string',
    domain: 'string',
    name: 'string',
    host: 'string',
    path: 'string',
    namespace: 'string',
    bundle: 'string',
    authMethod: 'string',
    roleId: 'string',
    layout: 'string',
    createdAt: 'string',
    updatedAt: 'string',
    updatedBy: 'string',
  },
  {
    description: 'A read-only Vault (KV v2) integration: never its credential',
    optional: ['createdAt', 'updatedAt', 'updatedBy'],
  },
);

const TEST_ANSWER = answerObject({
  ok: 'boolean',
  outcome: {
    type: 'string',
    description: 'ok | unreachable | tls_failure | bad_credentials | no_permission | not_kv2 | sealed',
  },
  message: { type: 'string', description: 'what happened, precisely (never the credential)' },
  keys: { type: 'integer', description: 'how many keys the path lists (when ok)' },
});

const ID_PARAMS = {
  type: 'object',
  required: ['domain', 'id'],
  properties: { domain: NAME_PARAM, id: { ...NAME_PARAM, description: "the integration's id or name" } },
} as const;

const FORCE_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { force: { type: 'boolean', description: 'delete even while workloads use its keys' } },
} as const;

interface IdParams {
  domain: string;
  id: string;
}

type SettingsBody = {
  host: string;
  path: string;
  namespace?: string;
  authMethod: string;
  roleId?: string;
  layout?: string;
  credential: string;
};

export function vaultJson(v: VaultIntegration | undefined) {
  return {
    id: v?.id ?? '',
    domain: v?.domain ?? '',
    name: v?.name ?? '',
    host: v?.host ?? '',
    path: v?.path ?? '',
    namespace: v?.namespace ?? '',
    bundle: v?.bundle ?? '',
    authMethod: v?.authMethod ?? '',
    roleId: v?.roleId ?? '',
    layout: v?.layout ?? '',
    createdAt: v?.createdAt ?? '',
    updatedAt: v?.updatedAt ?? '',
    updatedBy: v?.updatedBy ?? '',
  };
}

function settingsOf(body: SettingsBody): VaultSettings {
  return {
    host: body.host,
    path: body.path,
    namespace: body.namespace ?? '',
    authMethod: body.authMethod,
    roleId: body.roleId ?? '',
    layout: body.layout ?? 'children',
    credential: Buffer.from(body.credential, 'utf8'),
  };
}

/**
 * What `latchkey vault list|get|create|update|delete|test` do, over HTTP,
 * as the caller. A credential goes in (create, update, test of unsaved
 * settings) and never comes out.
 */
export const vaultRoutes: RouteFamily = async (app, { upstream }) => {
  const tags = ['vault'];
  const base = '/api/v1/domains/:domain/vault-integrations';
  const testAnswer = (r: { outcome: string; message: string; keys: number }) => ({
    ok: r.outcome === 'ok',
    outcome: r.outcome,
    message: r.message,
    keys: r.keys,
  });

  app.get(
    base,
    {
      schema: {
        tags,
        summary: "List the domain's Vault integrations, never their credentials (latchkey vault list)",
        params: DOMAIN_PARAMS,
        response: {
          200: {
            type: 'object',
            required: ['integrations'],
            properties: { integrations: { type: 'array', items: VAULT_ANSWER } },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { domain } = request.params as { domain: string };
      const res = await upstream.call(request.caller(), 'catalog', (c) => c.listVaultIntegrations, { domain });
      return { integrations: res.integrations.map(vaultJson) };
    },
  );
  app.post(
    base,
    {
      bodyLimit: bodyLimit(app, VAULT_BODY_LIMIT),
      schema: {
        tags,
        summary: 'Connect a read-only Vault (KV v2) path to the domain (latchkey vault create)',
        params: DOMAIN_PARAMS,
        body: CREATE_BODY,
        response: { 201: VAULT_ANSWER, ...ERRORS },
      },
    },
    async (request, reply) => {
      const { domain } = request.params as { domain: string };
      const body = request.body as SettingsBody & { name: string; bundle: string };
      const settings = settingsOf(body);
      try {
        const v = await upstream.call(request.caller(), 'catalog', (c) => c.createVaultIntegration, {
          domain,
          name: body.name,
          bundle: body.bundle,
          settings,
        });
        return reply.code(201).send(vaultJson(v));
      } finally {
        settings.credential.fill(0);
      }
    },
  );
  // Before `${base}/:id/test` in the reader's eye: unsaved settings have no id.
  app.post(
    `${base}/test`,
    {
      bodyLimit: bodyLimit(app, VAULT_BODY_LIMIT),
      schema: {
        tags,
        summary:
          'Test unsaved settings: log in to Vault and list the path, saving nothing (latchkey vault test --host ...)',
        params: DOMAIN_PARAMS,
        body: TEST_BODY,
        response: { 200: TEST_ANSWER, ...ERRORS },
      },
    },
    async (request) => {
      const { domain } = request.params as { domain: string };
      const settings = settingsOf(request.body as SettingsBody);
      try {
        return testAnswer(
          await upstream.call(request.caller(), 'catalog', (c) => c.testVaultIntegration, {
            domain,
            integration: '',
            settings,
          }),
        );
      } finally {
        settings.credential.fill(0);
      }
    },
  );
  app.get(
    `${base}/:id`,
    {
      schema: {
        tags,
        summary: 'A Vault integration, by id or name, never its credential (latchkey vault get)',
        params: ID_PARAMS,
        response: { 200: VAULT_ANSWER, ...ERRORS },
      },
    },
    async (request) => {
      const { domain, id } = request.params as IdParams;
      return vaultJson(
        await upstream.call(request.caller(), 'catalog', (c) => c.getVaultIntegration, { domain, integration: id }),
      );
    },
  );
  app.put(
    `${base}/:id`,
    {
      bodyLimit: bodyLimit(app, VAULT_BODY_LIMIT),
      schema: {
        tags,
        summary:
          'Configure a Vault integration: only the fields given change; the bundle is fixed at creation (latchkey vault update)',
        params: ID_PARAMS,
        body: UPDATE_BODY,
        response: { 200: VAULT_ANSWER, ...ERRORS },
      },
    },
    async (request) => {
      const { domain, id } = request.params as IdParams;
      const body = request.body as Partial<SettingsBody> & { name?: string; bundle?: string };
      const req: UpdateVaultIntegrationRequest = { domain, integration: id };
      for (const field of ['name', 'host', 'path', 'namespace', 'authMethod', 'roleId', 'layout', 'bundle'] as const) {
        const value = body[field];
        if (value !== undefined) req[field] = value;
      }
      if (body.credential !== undefined) req.credential = Buffer.from(body.credential, 'utf8');
      try {
        return vaultJson(await upstream.call(request.caller(), 'catalog', (c) => c.updateVaultIntegration, req));
      } finally {
        req.credential?.fill(0);
      }
    },
  );
  app.delete(
    `${base}/:id`,
    {
      schema: {
        tags,
        summary:
          'Remove a Vault integration (Vault is not touched); refused while workloads use it unless ?force=true (latchkey vault delete)',
        params: ID_PARAMS,
        querystring: FORCE_QUERY,
        response: {
          200: {
            type: 'object',
            required: ['deleted', 'dependents'],
            properties: {
              deleted: VAULT_ANSWER,
              dependents: {
                type: 'array',
                description: 'the workloads ("domain/name") that referenced its keys',
                items: { type: 'string' },
              },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { domain, id } = request.params as IdParams;
      const force = (request.query as { force?: boolean }).force === true;
      const res = await upstream.call(request.caller(), 'catalog', (c) => c.deleteVaultIntegration, {
        domain,
        integration: id,
        force,
      });
      return { deleted: vaultJson(res.deleted), dependents: [...res.dependents] };
    },
  );
  app.post(
    `${base}/:id/test`,
    {
      schema: {
        tags,
        summary:
          'Test a saved integration: log in to Vault with its stored credential and list the path (latchkey vault test NAME)',
        params: ID_PARAMS,
        response: { 200: TEST_ANSWER, ...ERRORS },
      },
    },
    async (request) => {
      const { domain, id } = request.params as IdParams;
      return testAnswer(
        await upstream.call(request.caller(), 'catalog', (c) => c.testVaultIntegration, {
          domain,
          integration: id,
          settings: undefined,
        }),
      );
    },
  );
};
