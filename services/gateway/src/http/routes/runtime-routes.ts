import type { FastifyRequest } from 'fastify';
import { LatchkeyError } from '@latchkey/errors';
import { BEARER } from '../caller.js';
import type { RouteFamily } from '../route-context.js';
import { configured, gatewayRoutes } from './gateway-route.js';
import { answerObject, paramsObject } from './route-schemas.js';

/**
 * The workload token a request carries (`Authorization: Bearer lkw_...`),
 * passed to the deployer as it came: the deployer alone decides, and gives
 * one answer (runtime.token_invalid) for a missing, malformed, unknown,
 * ended or replaced token. It is never a caller of any other route.
 */
const workloadToken = (request: FastifyRequest): string => BEARER.exec(request.headers.authorization ?? '')?.[1] ?? '';

const SOURCE_TYPE = { type: 'string', enum: ['MANAGED', 'VAULT'] } as const;

const REFERENCE = answerObject({
  key: 'string',
  sourceType: SOURCE_TYPE,
  sourceId: { type: 'string', description: 'the domain, global, or the Vault integration id' },
  legacy: { type: 'boolean', description: 'a ${secrets.KEY} placeholder: the domain first, then global' },
});

const SECURITY = [{ workloadToken: [] }];

/**
 * Secrets from inside a running workload: `GET /api/v1/runtime/secrets`
 * (the references of its deployment's spec) and
 * `GET /api/v1/runtime/secrets/{key}` (one of them at its current version,
 * read as the deploying principal and audited), with the deployment's own
 * token (LATCHKEY_WORKLOAD_TOKEN). The gateway passes the token to the
 * deployer with its runtime identity and decides nothing itself.
 */
export const runtimeRoutes: RouteFamily = async (app, { runtime }) => {
  const reads = () =>
    configured(
      runtime,
      () =>
        new LatchkeyError(
          'runtime.unavailable',
          'this gateway has no runtime identity, so workloads cannot read through it: give it LATCHKEY_RUNTIME_TLS_CERT_FILE and LATCHKEY_RUNTIME_TLS_KEY_FILE (a client certificate with CN gateway-runtime; latchkey up makes one; not with LATCHKEY_INSECURE=1)',
          { kind: 'unavailable' },
        ),
    );

  const route = gatewayRoutes(app, ['runtime']);
  route(
    'GET',
    '/api/v1/runtime/secrets',
    {
      summary: "The references of the calling workload's own deployment (never a value)",
      security: SECURITY,
      answer: answerObject({
        deploymentId: 'string',
        workload: 'string',
        domain: 'string',
        references: { type: 'array', items: REFERENCE },
      }),
    },
    async (request) => {
      const res = await reads().list(workloadToken(request));
      return { deploymentId: res.deploymentId, workload: res.workload, domain: res.domain, references: res.references };
    },
  );

  route<{ key: string }, { source?: string; id?: string }>(
    'GET',
    '/api/v1/runtime/secrets/:key',
    {
      summary: "One reference of the calling workload's deployment, at its current version (audited)",
      security: SECURITY,
      params: paramsObject({ key: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,253}$' } }),
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          source: {
            type: 'string',
            enum: ['MANAGED', 'KUBERNETES', 'VAULT'],
            description: 'when the spec references the key from more than one source',
          },
          id: { type: 'string', maxLength: 253, description: 'the domain, global, or the Vault integration id' },
        },
      },
      answer: answerObject({
        key: 'string',
        sourceType: SOURCE_TYPE,
        scope: { type: 'string', description: 'the scope that answered (a domain or global) or the integration id' },
        version: 'integer',
        value: 'string',
      }),
    },
    async (request, reply) => {
      const { key } = request.params;
      const q = request.query;
      const res = await reads().read(workloadToken(request), {
        key,
        sourceType: q.source ?? '',
        sourceId: q.id ?? '',
      });
      // A value: for the workload that asked, kept by no cache on the way.
      void reply.header('cache-control', 'no-store');
      return { key: res.key, sourceType: res.sourceType, scope: res.scope, version: res.version, value: res.value };
    },
  );
};
