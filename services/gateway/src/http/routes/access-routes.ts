import type { Bundle, BundleGrant, Domain, DomainGrant, Grantee } from '@latchkey/proto';
import type { RouteFamily } from '../route-context.js';
import { bodyLimit, SMALL_BODY_LIMIT } from './body-limits.js';
import { DOMAIN_PARAMS, ERRORS, NAME_PARAM } from './route-schemas.js';

const ROLES = ['owner', 'maintainer', 'member'] as const;
const PERMISSIONS = ['VIEW', 'UPDATE', 'USE'] as const;
const GRANTEE_KINDS = ['user', 'group'] as const;

const GRANTEE_ANSWER = {
  type: 'object',
  required: ['kind', 'id'],
  properties: { kind: { type: 'string' }, id: { type: 'string' } },
} as const;

const DOMAIN_ANSWER = {
  type: 'object',
  required: ['name', 'createdAt', 'createdBy'],
  properties: { name: { type: 'string' }, createdAt: { type: 'string' }, createdBy: { type: 'string' } },
} as const;

const DOMAIN_GRANT_ANSWER = {
  type: 'object',
  required: ['domain', 'grantee', 'role', 'grantedAt', 'grantedBy'],
  properties: {
    domain: { type: 'string' },
    grantee: GRANTEE_ANSWER,
    role: { type: 'string' },
    grantedAt: { type: 'string' },
    grantedBy: { type: 'string' },
  },
} as const;

const BUNDLE_ANSWER = {
  type: 'object',
  required: ['domain', 'name', 'createdAt', 'createdBy'],
  properties: {
    domain: { type: 'string' },
    name: { type: 'string' },
    createdAt: { type: 'string' },
    createdBy: { type: 'string' },
  },
} as const;

const BUNDLE_GRANT_ANSWER = {
  type: 'object',
  required: ['domain', 'bundle', 'grantee', 'permission', 'grantedAt', 'grantedBy'],
  properties: {
    domain: { type: 'string' },
    bundle: { type: 'string' },
    grantee: GRANTEE_ANSWER,
    permission: { type: 'string' },
    grantedAt: { type: 'string' },
    grantedBy: { type: 'string' },
  },
} as const;

const bundleGrants = (name: string, description: string) =>
  ({
    type: 'object',
    required: [name],
    properties: { [name]: { type: 'array', description, items: BUNDLE_GRANT_ANSWER } },
  }) as const;

/** `/members/{kind}/{id}`: who a domain role is for. */
const MEMBER_PARAMS = {
  type: 'object',
  required: ['domain', 'kind', 'id'],
  properties: {
    domain: NAME_PARAM,
    kind: { type: 'string', enum: GRANTEE_KINDS },
    id: { ...NAME_PARAM, description: 'the user id or group name' },
  },
} as const;

const BUNDLE_PARAMS = {
  type: 'object',
  required: ['domain', 'bundle'],
  properties: { domain: NAME_PARAM, bundle: NAME_PARAM },
} as const;

const BUNDLE_GRANTEE_PARAMS = {
  type: 'object',
  required: ['domain', 'bundle', 'kind', 'id'],
  properties: { ...BUNDLE_PARAMS.properties, ...MEMBER_PARAMS.properties },
} as const;

const NAME_BODY = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1 } },
} as const;

const PERMISSION_LIST = {
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { type: 'string', enum: PERMISSIONS },
} as const;

interface MemberParams {
  domain: string;
  kind: string;
  id: string;
}
interface BundleParams {
  domain: string;
  bundle: string;
}

const domainJson = (d: Domain) => ({ name: d.name, createdAt: d.createdAt, createdBy: d.createdBy });
const granteeJson = (g: Grantee | undefined) => ({ kind: g?.kind ?? '', id: g?.id ?? '' });
const domainGrantJson = (g: DomainGrant | undefined) => ({
  domain: g?.domain ?? '',
  grantee: granteeJson(g?.grantee),
  role: g?.role ?? '',
  grantedAt: g?.grantedAt ?? '',
  grantedBy: g?.grantedBy ?? '',
});
const bundleJson = (b: Bundle) => ({ domain: b.domain, name: b.name, createdAt: b.createdAt, createdBy: b.createdBy });
const bundleGrantJson = (g: BundleGrant) => ({
  domain: g.domain,
  bundle: g.bundle,
  grantee: granteeJson(g.grantee),
  permission: g.permission,
  grantedAt: g.grantedAt,
  grantedBy: g.grantedBy,
});

/**
 * What `latchkey domain create|list|grant|revoke|members` and `latchkey
 * bundle create|show|list|grant|revoke` do, over HTTP, as the caller (ras
 * decides; whoami is in identity-routes).
 */
export const accessRoutes: RouteFamily = async (app, { upstream }) => {
  const tags = ['access'];

  app.get(
    '/api/v1/domains',
    {
      schema: {
        tags,
        summary: 'List domains (latchkey domain list)',
        response: {
          200: {
            type: 'object',
            required: ['domains'],
            properties: { domains: { type: 'array', items: DOMAIN_ANSWER } },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const res = await upstream.call(request.caller(), 'ras', (r) => r.listDomains, {});
      return { domains: res.domains.map(domainJson) };
    },
  );
  app.post(
    '/api/v1/domains',
    {
      bodyLimit: bodyLimit(app, SMALL_BODY_LIMIT),
      schema: {
        tags,
        summary: 'Create a domain, a team tenant (latchkey domain create; platform admins)',
        body: NAME_BODY,
        response: { 201: DOMAIN_ANSWER, ...ERRORS },
      },
    },
    async (request, reply) => {
      const { name } = request.body as { name: string };
      const d = await upstream.call(request.caller(), 'ras', (r) => r.createDomain, { name });
      return reply.code(201).send(domainJson(d));
    },
  );
  app.get(
    '/api/v1/domains/:domain',
    {
      schema: {
        tags,
        summary: 'One domain',
        params: DOMAIN_PARAMS,
        response: { 200: DOMAIN_ANSWER, ...ERRORS },
      },
    },
    async (request) => {
      const { domain } = request.params as { domain: string };
      return domainJson(await upstream.call(request.caller(), 'ras', (r) => r.getDomain, { name: domain }));
    },
  );

  app.get(
    '/api/v1/domains/:domain/members',
    {
      schema: {
        tags,
        summary: 'Who holds which role in the domain (latchkey domain members)',
        params: DOMAIN_PARAMS,
        response: {
          200: {
            type: 'object',
            required: ['members'],
            properties: { members: { type: 'array', items: DOMAIN_GRANT_ANSWER } },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { domain } = request.params as { domain: string };
      const res = await upstream.call(request.caller(), 'ras', (r) => r.listDomainMembers, { domain });
      return { members: res.members.map(domainGrantJson) };
    },
  );
  app.put(
    '/api/v1/domains/:domain/members/:kind/:id',
    {
      bodyLimit: bodyLimit(app, SMALL_BODY_LIMIT),
      schema: {
        tags,
        summary: 'Give a user or group a role in the domain, replacing the one it held (latchkey domain grant)',
        params: MEMBER_PARAMS,
        body: {
          type: 'object',
          required: ['role'],
          additionalProperties: false,
          properties: { role: { type: 'string', enum: ROLES } },
        },
        response: {
          200: {
            type: 'object',
            required: ['grant', 'changed', 'previousRole'],
            properties: {
              grant: DOMAIN_GRANT_ANSWER,
              changed: { type: 'boolean' },
              previousRole: { type: 'string', description: 'the role it held before ("" for none)' },
            },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { domain, kind, id } = request.params as MemberParams;
      const { role } = request.body as { role: string };
      const res = await upstream.call(request.caller(), 'ras', (r) => r.grantDomainRole, {
        domain,
        grantee: { kind, id },
        role,
      });
      return { grant: domainGrantJson(res.grant), changed: res.changed, previousRole: res.previousRole };
    },
  );
  app.delete(
    '/api/v1/domains/:domain/members/:kind/:id',
    {
      schema: {
        tags,
        summary:
          "Take a user's or group's role in the domain away; with ?role=, only if it is that role (latchkey domain revoke)",
        params: MEMBER_PARAMS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { role: { type: 'string', enum: ROLES } },
        },
        response: {
          200: { type: 'object', required: ['revoked'], properties: { revoked: DOMAIN_GRANT_ANSWER } },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { domain, kind, id } = request.params as MemberParams;
      const role = (request.query as { role?: string }).role ?? '';
      const res = await upstream.call(request.caller(), 'ras', (r) => r.revokeDomainRole, {
        domain,
        grantee: { kind, id },
        role,
      });
      return { revoked: domainGrantJson(res.revoked) };
    },
  );

  app.get(
    '/api/v1/domains/:domain/bundles',
    {
      schema: {
        tags,
        summary: "List the domain's resource bundles (latchkey bundle list)",
        params: DOMAIN_PARAMS,
        response: {
          200: {
            type: 'object',
            required: ['bundles'],
            properties: { bundles: { type: 'array', items: BUNDLE_ANSWER } },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { domain } = request.params as { domain: string };
      const res = await upstream.call(request.caller(), 'ras', (r) => r.listBundles, { domain });
      return { bundles: res.bundles.map(bundleJson) };
    },
  );
  app.post(
    '/api/v1/domains/:domain/bundles',
    {
      bodyLimit: bodyLimit(app, SMALL_BODY_LIMIT),
      schema: {
        tags,
        summary: 'Create a resource bundle in the domain (latchkey bundle create; owners and platform admins)',
        params: DOMAIN_PARAMS,
        body: NAME_BODY,
        response: { 201: BUNDLE_ANSWER, ...ERRORS },
      },
    },
    async (request, reply) => {
      const { domain } = request.params as { domain: string };
      const { name } = request.body as { name: string };
      const b = await upstream.call(request.caller(), 'ras', (r) => r.createBundle, { domain, name });
      return reply.code(201).send(bundleJson(b));
    },
  );
  app.get(
    '/api/v1/domains/:domain/bundles/:bundle',
    {
      schema: {
        tags,
        summary: 'A bundle and its grants (latchkey bundle show)',
        params: BUNDLE_PARAMS,
        response: {
          200: {
            type: 'object',
            required: ['bundle', 'grants'],
            properties: { bundle: BUNDLE_ANSWER, grants: { type: 'array', items: BUNDLE_GRANT_ANSWER } },
          },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { domain, bundle } = request.params as BundleParams;
      const b = await upstream.call(request.caller(), 'ras', (r) => r.getBundle, { domain, name: bundle });
      const { grants } = await upstream.call(request.caller(), 'ras', (r) => r.listBundleGrants, { domain, bundle });
      return { bundle: bundleJson(b), grants: grants.map(bundleGrantJson) };
    },
  );
  app.put(
    '/api/v1/domains/:domain/bundles/:bundle/grants/:kind/:id',
    {
      bodyLimit: bodyLimit(app, SMALL_BODY_LIMIT),
      schema: {
        tags,
        summary: 'Grant VIEW, UPDATE and/or USE on the bundle to a user or group (latchkey bundle grant)',
        params: BUNDLE_GRANTEE_PARAMS,
        body: {
          type: 'object',
          required: ['permissions'],
          additionalProperties: false,
          properties: { permissions: PERMISSION_LIST },
        },
        response: {
          200: bundleGrants('granted', 'the permissions newly granted (none when all were held)'),
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const { domain, bundle, kind, id } = request.params as BundleParams & MemberParams;
      const { permissions } = request.body as { permissions: string[] };
      const res = await upstream.call(request.caller(), 'ras', (r) => r.grantBundle, {
        domain,
        bundle,
        grantee: { kind, id },
        permissions,
      });
      return { granted: res.granted.map(bundleGrantJson) };
    },
  );
  app.delete(
    '/api/v1/domains/:domain/bundles/:bundle/grants/:kind/:id',
    {
      schema: {
        tags,
        summary:
          'Take permissions on the bundle away from a user or group: those of ?permission=VIEW,USE, or all (latchkey bundle revoke)',
        params: BUNDLE_GRANTEE_PARAMS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            permission: { type: 'string', pattern: '^(VIEW|UPDATE|USE)(,(VIEW|UPDATE|USE))*$' },
          },
        },
        response: { 200: bundleGrants('revoked', 'the permissions taken away'), ...ERRORS },
      },
    },
    async (request) => {
      const { domain, bundle, kind, id } = request.params as BundleParams & MemberParams;
      const given = (request.query as { permission?: string }).permission;
      const permissions = given === undefined ? [] : [...new Set(given.split(','))];
      const res = await upstream.call(request.caller(), 'ras', (r) => r.revokeBundle, {
        domain,
        bundle,
        grantee: { kind, id },
        permissions,
      });
      return { revoked: res.revoked.map(bundleGrantJson) };
    },
  );
};
