import type { SecretVersion } from '@latchkey/proto';
import type { RouteFamily } from '../route-context.js';
import { SMALL_BODY_LIMIT } from './body-limits.js';
import { gatewayRoutes } from './gateway-route.js';
import { answerObject, DOMAIN_PARAMS, listAnswer } from './route-schemas.js';
import {
  DOMAIN_KEY_PARAMS,
  KEY_PARAMS,
  SECRET_ANSWER,
  scopeOf,
  secretJson,
  secretOf,
  type ScopeParams,
} from './secret-routes.js';

const VERSION_NUMBER = { type: 'integer', minimum: 1, maximum: 2_147_483_647 } as const;

/** One kept version: metadata only, never its value. */
const VERSION_ANSWER = answerObject(
  {
    version: 'integer',
    createdAt: 'string',
    createdBy: 'string',
    state: { type: 'string', enum: ['enabled', 'disabled'], description: 'a disabled version cannot be resolved' },
    current: { type: 'boolean', description: 'the version workloads receive' },
    heldBy: {
      type: 'array',
      items: { type: 'string' },
      description: 'the workloads ("domain/name") whose live deployment holds this version',
    },
    rolledBackFrom: { type: 'integer', description: 'a rollback: the version whose value it copied; 0 otherwise' },
    disabledAt: 'string',
    disabledBy: 'string',
  },
  { description: 'A kept version of a secret: never its value', optional: ['disabledAt', 'disabledBy'] },
);

const VERSIONS_ANSWER = answerObject({
  secret: SECRET_ANSWER,
  versions: { type: 'array', items: VERSION_ANSWER, description: 'newest first' },
  kept: { type: 'integer', description: 'versions kept per secret; older ones are destroyed' },
  holdersKnown: { type: 'boolean', description: 'false when the deployer could not say who holds what' },
});

const DELETED_ANSWER = answerObject({
  secret: SECRET_ANSWER,
  deletedAt: 'string',
  recoverUntil: { type: 'string', description: 'restorable until then; its values are destroyed after' },
});

const withVersion = <T extends { required: readonly string[]; properties: Record<string, unknown> }>(p: T) => ({
  type: 'object',
  required: [...p.required, 'version'],
  properties: { ...p.properties, version: VERSION_NUMBER },
});

const ROLLBACK_BODY = {
  type: 'object',
  required: ['toVersion'],
  additionalProperties: false,
  properties: { toVersion: VERSION_NUMBER },
} as const;

interface Params extends ScopeParams {
  version?: number;
}

/** Exactly the answer's properties. */
export function versionJson(v: SecretVersion) {
  return {
    version: v.version,
    createdAt: v.createdAt,
    createdBy: v.createdBy,
    state: v.state,
    current: v.current,
    heldBy: [...v.heldBy],
    rolledBackFrom: v.rolledBackFrom,
    disabledAt: v.disabledAt,
    disabledBy: v.disabledBy,
  };
}

/**
 * What `latchkey secret versions|rollback|disable|enable|restore` and
 * `secret list --deleted` do, over HTTP, as the caller. No value goes in or
 * out: a rollback copies the value inside the catalog.
 */
export const secretVersionRoutes: RouteFamily = async (app, { upstream }) => {
  const route = gatewayRoutes(app, ['secrets']);
  const scopes = [
    { base: '/api/v1/domains/:domain', params: DOMAIN_PARAMS, keyed: DOMAIN_KEY_PARAMS },
    { base: '/api/v1/global', params: undefined, keyed: KEY_PARAMS },
  ] as const;
  for (const { base, params, keyed } of scopes) {
    route<Params>(
      'GET',
      `${base}/deleted-secrets`,
      {
        summary: 'Deleted secrets that can still be restored, and until when (latchkey secret list --deleted)',
        ...(params === undefined ? {} : { params }),
        answer: listAnswer('secrets', DELETED_ANSWER),
      },
      async (request) => {
        const scope = scopeOf(request.params);
        const res = await upstream.call(request.caller(), 'catalog', (c) => c.listSecrets, { scope, deleted: true });
        return {
          secrets: res.secrets.map((s) => ({
            secret: secretJson(s),
            deletedAt: s.deletedAt,
            recoverUntil: s.recoverUntil,
          })),
        };
      },
    );
    route<Params>(
      'POST',
      `${base}/secrets/:key/restore`,
      {
        bodyLimit: SMALL_BODY_LIMIT,
        summary: 'Bring back a deleted secret, as it was, while its recovery window lasts (latchkey secret restore)',
        params: keyed,
        answer: SECRET_ANSWER,
      },
      async (request) =>
        secretJson(await upstream.call(request.caller(), 'catalog', (c) => c.restoreSecret, secretOf(request.params))),
    );
    route<Params>(
      'GET',
      `${base}/secrets/:key/versions`,
      {
        summary: 'The kept versions of a secret and which live deployments hold each (latchkey secret versions)',
        params: keyed,
        answer: VERSIONS_ANSWER,
      },
      async (request) => {
        const res = await upstream.call(
          request.caller(),
          'catalog',
          (c) => c.listSecretVersions,
          secretOf(request.params),
        );
        return {
          secret: secretJson(res.secret),
          versions: res.versions.map(versionJson),
          kept: res.kept,
          holdersKnown: res.holdersKnown,
        };
      },
    );
    route<Params, unknown, { toVersion: number }>(
      'POST',
      `${base}/secrets/:key/rollback`,
      {
        bodyLimit: SMALL_BODY_LIMIT,
        summary:
          "A new version with an older version's value, copied inside the catalog; workloads holding other versions become stale (latchkey secret rollback)",
        params: keyed,
        body: ROLLBACK_BODY,
        answer: SECRET_ANSWER,
      },
      async (request) => {
        const req = { ...secretOf(request.params), toVersion: request.body.toVersion };
        return secretJson(await upstream.call(request.caller(), 'catalog', (c) => c.rollbackSecret, req));
      },
    );
    for (const verb of ['disable', 'enable'] as const) {
      route<Params>(
        'POST',
        `${base}/secrets/:key/versions/:version/${verb}`,
        {
          bodyLimit: SMALL_BODY_LIMIT,
          summary:
            verb === 'disable'
              ? 'Disable a version: kept, but no deployment may resolve it (latchkey secret disable)'
              : 'Enable a disabled version again (latchkey secret enable)',
          params: withVersion(keyed),
          answer: VERSION_ANSWER,
        },
        async (request) =>
          versionJson(
            await upstream.call(request.caller(), 'catalog', (c) => c.setSecretVersionState, {
              ...secretOf(request.params),
              version: request.params.version ?? 0,
              disabled: verb === 'disable',
            }),
          ),
      );
    }
  }
};
