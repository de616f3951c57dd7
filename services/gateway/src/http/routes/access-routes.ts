import type { Bundle, BundleGrant, Domain, DomainGrant, Grantee } from '@latchkey/proto';
import type { RouteFamily } from '../route-context.js';
import { SMALL_BODY_LIMIT } from './body-limits.js';
import { gatewayRoutes } from './gateway-route.js';
import { answerObject, DOMAIN_PARAMS, listAnswer, NAME_PARAM } from './route-schemas.js';

const ROLES = ['owner', 'maintainer', 'member'] as const;
const PERMISSIONS = ['VIEW', 'UPDATE', 'USE'] as const;
const GRANTEE_KINDS = ['user', 'group'] as const;

const GRANTEE_ANSWER = answerObject({ kind: 'string', id: 'string' });
const DOMAIN_ANSWER = answerObject({ name: 'string', createdAt: 'string', createdBy: 'string' });
const GRANTED = { grantedAt: 'string', grantedBy: 'string' } as const;
const DOMAIN_GRANT_ANSWER = answerObject({ domain: 'string', grantee: GRANTEE_ANSWER, role: 'string', ...GRANTED });
const BUNDLE_ANSWER = answerObject({ domain: 'string', name: 'string', createdAt: 'string', createdBy: 'string' });
const BUNDLE_GRANT_ANSWER = answerObject({
  domain: 'string',
  bundle: 'string',
  grantee: GRANTEE_ANSWER,
  permission: 'string',
  ...GRANTED,
});

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

interface DomainParams {
  domain: string;
}
interface MemberParams extends DomainParams {
  kind: string;
  id: string;
}
interface BundleParams extends DomainParams {
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
  const route = gatewayRoutes(app, ['access']);

  route(
    'GET',
    '/api/v1/domains',
    { summary: 'List domains (latchkey domain list)', answer: listAnswer('domains', DOMAIN_ANSWER) },
    async (request) => {
      const res = await upstream.call(request.caller(), 'ras', (r) => r.listDomains, {});
      return { domains: res.domains.map(domainJson) };
    },
  );
  route<unknown, unknown, { name: string }>(
    'POST',
    '/api/v1/domains',
    {
      bodyLimit: SMALL_BODY_LIMIT,
      summary: 'Create a domain, a team tenant (latchkey domain create; platform admins)',
      body: NAME_BODY,
      answer: DOMAIN_ANSWER,
      status: 201,
    },
    async (request) => {
      const { name } = request.body;
      return domainJson(await upstream.call(request.caller(), 'ras', (r) => r.createDomain, { name }));
    },
  );
  route<DomainParams>(
    'GET',
    '/api/v1/domains/:domain',
    { summary: 'One domain', params: DOMAIN_PARAMS, answer: DOMAIN_ANSWER },
    async (request) =>
      domainJson(await upstream.call(request.caller(), 'ras', (r) => r.getDomain, { name: request.params.domain })),
  );

  route<DomainParams>(
    'GET',
    '/api/v1/domains/:domain/members',
    {
      summary: 'Who holds which role in the domain (latchkey domain members)',
      params: DOMAIN_PARAMS,
      answer: listAnswer('members', DOMAIN_GRANT_ANSWER),
    },
    async (request) => {
      const { domain } = request.params;
      const res = await upstream.call(request.caller(), 'ras', (r) => r.listDomainMembers, { domain });
      return { members: res.members.map(domainGrantJson) };
    },
  );
  route<MemberParams, unknown, { role: string }>(
    'PUT',
    '/api/v1/domains/:domain/members/:kind/:id',
    {
      bodyLimit: SMALL_BODY_LIMIT,
      summary: 'Give a user or group a role in the domain, replacing the one it held (latchkey domain grant)',
      params: MEMBER_PARAMS,
      body: {
        type: 'object',
        required: ['role'],
        additionalProperties: false,
        properties: { role: { type: 'string', enum: ROLES } },
      },
      answer: {
        type: 'object',
        required: ['grant', 'changed', 'previousRole'],
        properties: {
          grant: DOMAIN_GRANT_ANSWER,
          changed: { type: 'boolean' },
          previousRole: { type: 'string', description: 'the role it held before ("" for none)' },
        },
      },
    },
    async (request) => {
      const { domain, kind, id } = request.params;
      const { role } = request.body;
      const res = await upstream.call(request.caller(), 'ras', (r) => r.grantDomainRole, {
        domain,
        grantee: { kind, id },
        role,
      });
      return { grant: domainGrantJson(res.grant), changed: res.changed, previousRole: res.previousRole };
    },
  );
  route<MemberParams, { role?: string }>(
    'DELETE',
    '/api/v1/domains/:domain/members/:kind/:id',
    {
      summary:
        "Take a user's or group's role in the domain away; with ?role=, only if it is that role (latchkey domain revoke)",
      params: MEMBER_PARAMS,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { role: { type: 'string', enum: ROLES } },
      },
      answer: { type: 'object', required: ['revoked'], properties: { revoked: DOMAIN_GRANT_ANSWER } },
    },
    async (request) => {
      const { domain, kind, id } = request.params;
      const res = await upstream.call(request.caller(), 'ras', (r) => r.revokeDomainRole, {
        domain,
        grantee: { kind, id },
        role: request.query.role ?? '',
      });
      return { revoked: domainGrantJson(res.revoked) };
    },
  );

  route<DomainParams>(
    'GET',
    '/api/v1/domains/:domain/bundles',
    {
      summary: "List the domain's resource bundles (latchkey bundle list)",
      params: DOMAIN_PARAMS,
      answer: listAnswer('bundles', BUNDLE_ANSWER),
    },
    async (request) => {
      const { domain } = request.params;
      const res = await upstream.call(request.caller(), 'ras', (r) => r.listBundles, { domain });
      return { bundles: res.bundles.map(bundleJson) };
    },
  );
  route<DomainParams, unknown, { name: string }>(
    'POST',
    '/api/v1/domains/:domain/bundles',
    {
      bodyLimit: SMALL_BODY_LIMIT,
      summary: 'Create a resource bundle in the domain (latchkey bundle create; owners and platform admins)',
      params: DOMAIN_PARAMS,
      body: NAME_BODY,
      answer: BUNDLE_ANSWER,
      status: 201,
    },
    async (request) => {
      const { domain } = request.params;
      const { name } = request.body;
      return bundleJson(await upstream.call(request.caller(), 'ras', (r) => r.createBundle, { domain, name }));
    },
  );
  route<BundleParams>(
    'GET',
    '/api/v1/domains/:domain/bundles/:bundle',
    {
      summary: 'A bundle and its grants (latchkey bundle show)',
      params: BUNDLE_PARAMS,
      answer: {
        type: 'object',
        required: ['bundle', 'grants'],
        properties: { bundle: BUNDLE_ANSWER, grants: { type: 'array', items: BUNDLE_GRANT_ANSWER } },
      },
    },
    async (request) => {
      const { domain, bundle } = request.params;
      const b = await upstream.call(request.caller(), 'ras', (r) => r.getBundle, { domain, name: bundle });
      const { grants } = await upstream.call(request.caller(), 'ras', (r) => r.listBundleGrants, { domain, bundle });
      return { bundle: bundleJson(b), grants: grants.map(bundleGrantJson) };
    },
  );
  route<BundleParams & MemberParams, unknown, { permissions: string[] }>(
    'PUT',
    '/api/v1/domains/:domain/bundles/:bundle/grants/:kind/:id',
    {
      bodyLimit: SMALL_BODY_LIMIT,
      summary: 'Grant VIEW, UPDATE and/or USE on the bundle to a user or group (latchkey bundle grant)',
      params: BUNDLE_GRANTEE_PARAMS,
      body: {
        type: 'object',
        required: ['permissions'],
        additionalProperties: false,
        properties: { permissions: PERMISSION_LIST },
      },
      answer: listAnswer('granted', BUNDLE_GRANT_ANSWER, 'the permissions newly granted (none when all were held)'),
    },
    async (request) => {
      const { domain, bundle, kind, id } = request.params;
      const { permissions } = request.body;
      const res = await upstream.call(request.caller(), 'ras', (r) => r.grantBundle, {
        domain,
        bundle,
        grantee: { kind, id },
        permissions,
      });
      return { granted: res.granted.map(bundleGrantJson) };
    },
  );
  route<BundleParams & MemberParams, { permission?: string }>(
    'DELETE',
    '/api/v1/domains/:domain/bundles/:bundle/grants/:kind/:id',
    {
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
      answer: listAnswer('revoked', BUNDLE_GRANT_ANSWER, 'the permissions taken away'),
    },
    async (request) => {
      const { domain, bundle, kind, id } = request.params;
      const given = request.query.permission;
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
