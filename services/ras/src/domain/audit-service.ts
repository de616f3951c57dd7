import { GLOBAL_SCOPE, type AuditRecord } from '@latchkey/events';
import { invalidActor, invalidLimit, invalidPageToken, invalidSince } from './audit-errors.js';
import type { DomainService } from './domain-service.js';
import type { Actor } from './grant-types.js';
import { requireDomainName } from './request-parsers.js';
import type { AuditQuery, AuditStore } from './ports.js';

export const DEFAULT_AUDIT_LIMIT = 100;
export const MAX_AUDIT_LIMIT = 1000;

export interface AuditListInput {
  /** Empty: every domain; `global`: the global records; else one domain. */
  domain: string;
  /** RFC 3339, or empty. */
  since: string;
  /** A user id, or empty. */
  actor: string;
  /** 0: the default. */
  limit: number;
  pageToken: string;
}

export interface AuditPage {
  records: AuditRecord[];
  /** Empty on the last page. */
  nextPageToken: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function parseSince(since: string): Date | undefined {
  if (since === '') return undefined;
  const t = Date.parse(since);
  if (!RFC3339.test(since) || Number.isNaN(t)) {
    throw invalidSince(since);
  }
  return new Date(t);
}

function parseLimit(limit: number): number {
  if (limit === 0) return DEFAULT_AUDIT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT) {
    throw invalidLimit(limit, MAX_AUDIT_LIMIT);
  }
  return limit;
}

/** A page token: where the previous page ended, in (at, id) order. Opaque to callers. */
export function encodePageToken(last: Pick<AuditRecord, 'at' | 'id'>): string {
  return Buffer.from(JSON.stringify([last.at, last.id]), 'utf8').toString('base64url');
}

function decodePageToken(token: string): { at: string; id: string } | undefined {
  if (token === '') return undefined;
  const bad = invalidPageToken();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw bad;
  const [at, id] = parsed as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || Number.isNaN(Date.parse(at))) throw bad;
  return { at, id };
}

/**
 * Reading the audit trail. Platform admins read everything; a domain's
 * owners read that domain's records; anyone else gets the answer a stranger
 * gets from every domain RPC, the same whether the domain exists or not.
 */
export class AuditService {
  constructor(private readonly deps: { store: AuditStore; domains: DomainService }) {}

  /** Keeps a record from the audit stream; false when it was kept already (a redelivery). */
  store(record: AuditRecord): Promise<boolean> {
    return this.deps.store.insert(record);
  }

  async list(actor: Actor, input: AuditListInput): Promise<AuditPage> {
    const all = input.domain === '' || input.domain === GLOBAL_SCOPE;
    if (!all) requireDomainName(input.domain);
    const since = parseSince(input.since);
    if (input.actor.length > 256) throw invalidActor();
    const limit = parseLimit(input.limit);
    const before = decodePageToken(input.pageToken);
    if (all) await this.deps.domains.authorize(actor, 'audit.read_all', GLOBAL_SCOPE);
    else await this.deps.domains.authorize(actor, 'audit.read', input.domain);

    const query: AuditQuery = {
      limit: limit + 1,
      ...(input.domain === '' ? {} : { domain: input.domain }),
      ...(since === undefined ? {} : { since }),
      ...(input.actor === '' ? {} : { actor: input.actor }),
      ...(before === undefined ? {} : { before }),
    };
    const rows = await this.deps.store.list(query);
    const records = rows.slice(0, limit);
    const last = records.at(-1);
    return { records, nextPageToken: rows.length > limit && last ? encodePageToken(last) : '' };
  }
}
