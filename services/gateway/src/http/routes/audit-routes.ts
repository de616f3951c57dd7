import type { AuditEntry } from '@latchkey/proto';
import type { RouteFamily } from '../route-context.js';
import { answerObject, ERRORS } from './route-schemas.js';

/** What ras gives in one page at most (and so one answer here). */
export const AUDIT_MAX_LIMIT = 1000;
const AUDIT_DEFAULT_LIMIT = 100;

const AUDIT_ENTRY = answerObject({
  id: 'string',
  at: 'string',
  service: 'string',
  actor: 'string',
  groups: 'string[]',
  action: 'string',
  domain: 'string',
  resource: 'string',
  outcome: 'string',
  reason: 'string',
  requestId: 'string',
});

const auditJson = (r: AuditEntry) => ({
  id: r.id,
  at: r.at,
  service: r.service,
  actor: r.actor,
  groups: [...r.groups],
  action: r.action,
  domain: r.domain,
  resource: r.resource,
  outcome: r.outcome,
  reason: r.reason,
  requestId: r.requestId,
});

/**
 * `latchkey audit` over HTTP: the caller's view of the audit records, newest
 * first (a domain's owners see its records, platform admins all: ras decides).
 */
export const auditRoutes: RouteFamily = async (app, { upstream }) => {
  app.get(
    '/api/v1/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Audit records, newest first: decisions and changes, never a value (latchkey audit)',
        description:
          'One page of at most `limit` records; `nextPageToken` (when not "") asks for the next page with the same filters.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            domain: { type: 'string', description: "only this domain's records" },
            since: { type: 'string', description: 'an RFC 3339 time, e.g. 2025-01-31T12:00:00Z' },
            actor: { type: 'string', description: 'only what this user did' },
            limit: { type: 'integer', minimum: 1, maximum: AUDIT_MAX_LIMIT, default: AUDIT_DEFAULT_LIMIT },
            pageToken: { type: 'string' },
          },
        },
        response: {
          200: answerObject({ records: { type: 'array', items: AUDIT_ENTRY }, nextPageToken: 'string' }),
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const q = request.query as {
        domain?: string;
        since?: string;
        actor?: string;
        limit?: number;
        pageToken?: string;
      };
      const res = await upstream.call(request.caller(), 'ras', (r) => r.listAudit, {
        domain: q.domain ?? '',
        since: q.since ?? '',
        actor: q.actor ?? '',
        limit: q.limit ?? AUDIT_DEFAULT_LIMIT,
        pageToken: q.pageToken ?? '',
      });
      return { records: res.records.map(auditJson), nextPageToken: res.nextPageToken };
    },
  );
};
