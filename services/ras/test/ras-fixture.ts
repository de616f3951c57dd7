import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Pool } from '@latchkey/db';
import { LatchkeyError } from '@latchkey/errors';
import { ensureEventTables, type AuditRecord } from '@latchkey/events';
import { createClient, createServer, type Principal } from '@latchkey/grpc';
import { silentLogger } from '@latchkey/logger';
import { RasServiceClient, RasServiceService, type RasServiceServer } from '@latchkey/proto';
import { freshDatabase, type TestPostgres } from '@latchkey/testing';
import { PostgresAuditStore } from '../src/adapters/postgres-audit-store.js';
import { PostgresDecisionAudit } from '../src/adapters/postgres-decision-audit.js';
import { PostgresBundleRepo } from '../src/adapters/postgres-bundle-repo.js';
import { PostgresDomainRepo } from '../src/adapters/postgres-domain-repo.js';
import { PostgresGrantRepo } from '../src/adapters/postgres-grant-repo.js';
import { AccessPolicy } from '../src/domain/access-policy.js';
import { AuditService } from '../src/domain/audit-service.js';
import { BundleService } from '../src/domain/bundle-service.js';
import { DomainService } from '../src/domain/domain-service.js';
import type { Actor } from '../src/domain/grant-types.js';
import { GrantService } from '../src/domain/grant-service.js';
import type { DecisionAudit } from '../src/domain/ports.js';
import { repoFacts } from '../src/domain/policy-facts.js';
import { rasHandlers } from '../src/transport/grpc/ras-handler.js';

const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url));

export const admin: Actor = { id: 'admin', kind: 'user', groups: [] };
export const service: Actor = { id: 'service:catalog', kind: 'service', groups: [] };
export const person = (id: string, groups: string[] = []): Actor => ({ id, kind: 'user', groups });

export interface OutboxRow {
  subject: string;
  type: string;
  data: Record<string, unknown>;
}

export interface Ras {
  pool: Pool;
  domains: DomainService;
  grants: GrantService;
  bundles: BundleService;
  audit: AuditService;
  grantRepo: PostgresGrantRepo;
  /** How often a committed change kicked the outbox relay. */
  kicks(): number;
  /** The latchkey.policy.changed rows of the outbox, oldest first. */
  outbox(): Promise<OutboxRow[]>;
  /** The audit records of committed changes, from the outbox (written in the change's transaction). */
  changeRecords(): Promise<AuditRecord[]>;
  /** The decision records handed to the audit stream, in order. */
  decisions: AuditRecord[];
  /** host:port of the gRPC server. */
  address: string;
  /** A gRPC client of this ras, authenticated as the principal of `token` (see TOKENS). */
  client(token: string): RasServiceClient;
}

/** Bearer tokens of the in-process server, and who they are. */
export const TOKENS: Record<string, Principal> = {
  'admin-token': { id: 'admin', kind: 'user', groups: [] },
  'olive-token': { id: 'olive', kind: 'user', groups: [] },
  'mia-token': { id: 'mia', kind: 'user', groups: [] },
  'fred-token': { id: 'fred', kind: 'user', groups: [] },
  'gina-token': { id: 'gina', kind: 'user', groups: ['data-eng'] },
  'resolver-token': { id: 'service:resolver', kind: 'service', groups: [] },
};

export interface RasOptions {
  /** Also called after each committed change (e.g. to kick an outbox relay). */
  onCommit?: () => void;
  /** Also write every decision record to the outbox, as ras does (PostgresDecisionAudit). */
  durableDecisions?: boolean;
}

/**
 * ras over a fresh migrated database: its services, and the same wired to a
 * gRPC server on a free port. Platform admins: the user `admin` and the group
 * `platform`. Everything is closed when the test ends (the pool by freshDatabase).
 */
export async function startRas(t: TestContext, postgres: TestPostgres, options: RasOptions = {}): Promise<Ras> {
  const { pool } = await freshDatabase(t, postgres, {
    prefix: 'ras',
    prepare: ensureEventTables,
    migrations: MIGRATIONS,
  });
  let kicks = 0;
  const kick = () => {
    kicks++;
    options.onCommit?.();
  };
  const domainRepo = new PostgresDomainRepo(pool, kick);
  const grantRepo = new PostgresGrantRepo(pool, kick);
  const bundleRepo = new PostgresBundleRepo(pool, kick);
  const facts = repoFacts({ domains: domainRepo, grants: grantRepo, bundles: bundleRepo });
  const policy = new AccessPolicy({ facts, admins: { users: new Set(['admin']), groups: new Set(['platform']) } });
  const decisions: AuditRecord[] = [];
  const durable = options.durableDecisions ? new PostgresDecisionAudit(pool, kick) : undefined;
  const decisionAudit: DecisionAudit = {
    record: async (records) => {
      await durable?.record(records);
      decisions.push(...records);
    },
  };
  const domains = new DomainService({ repo: domainRepo, policy, facts, audit: decisionAudit });
  const grants = new GrantService({ repo: grantRepo, domains });
  const bundles = new BundleService({ repo: bundleRepo, domains });
  const audit = new AuditService({ store: new PostgresAuditStore(pool), domains });

  const server = createServer({
    service: 'ras',
    logger: silentLogger,
    authenticate: (token) => TOKENS[token],
  });
  server.addService<RasServiceServer>(RasServiceService, rasHandlers(domains, grants, bundles, audit));
  const port = await server.listen('127.0.0.1', 0);
  server.setServing(true);
  const clients: RasServiceClient[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await server.shutdown();
  });

  return {
    pool,
    domains,
    grants,
    bundles,
    audit,
    grantRepo,
    address: `127.0.0.1:${port}`,
    kicks: () => kicks,
    outbox: async () =>
      (
        await pool.query<OutboxRow>(
          "SELECT subject, type, data FROM outbox WHERE subject = 'latchkey.policy.changed' ORDER BY seq",
        )
      ).rows,
    changeRecords: async () =>
      (
        await pool.query<{ data: AuditRecord }>(
          "SELECT data FROM outbox WHERE subject LIKE 'latchkey.audit.%' ORDER BY seq",
        )
      ).rows.map((r) => r.data),
    decisions,
    client: (token) => {
      const c = createClient(RasServiceClient, `127.0.0.1:${port}`, token);
      clients.push(c);
      return c;
    },
  };
}

export { usePostgres } from '@latchkey/testing';

/** A domain `analytics` with olive as owner. */
export async function withAnalytics(ras: Ras): Promise<void> {
  await ras.domains.create(admin, 'analytics');
  await ras.grants.grant(admin, 'analytics', { kind: 'user', id: 'olive' }, 'owner');
}

/** The LatchkeyError `p` fails with (an answer fails the test). */
export async function errorOf(p: Promise<unknown>, expected = 'an error'): Promise<LatchkeyError> {
  const err = await p.then(
    () => assert.fail(`expected ${expected}, got an answer`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof LatchkeyError, String(err));
  return err;
}

/** `p` fails with `code` (and a message matching `message`). */
export async function rejects(p: Promise<unknown>, code: string, message?: RegExp): Promise<LatchkeyError> {
  const err = await errorOf(p, code);
  assert.equal(err.code, code, err.message);
  if (message) assert.match(err.message, message);
  return err;
}
