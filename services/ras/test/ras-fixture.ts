import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { createPool, migrate, type Pool } from '@latchkey/db';
import { ensureEventTables, type AuditRecord } from '@latchkey/events';
import { createClient, createServer, type Principal } from '@latchkey/grpc';
import { silentLogger } from '@latchkey/logger';
import { RasServiceClient, RasServiceService, type RasServiceServer } from '@latchkey/proto';
import { createTestDatabase, type TestPostgres } from '@latchkey/testing';
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

let dbCount = 0;

export interface RasOptions {
  /** Also called after each committed change (e.g. to kick an outbox relay). */
  onCommit?: () => void;
  /** Also write every decision record to the outbox, as ras does (PostgresDecisionAudit). */
  durableDecisions?: boolean;
}

/**
 * ras over a fresh migrated database: its services, and the same wired to a
 * gRPC server on a free port. Platform admins: the user `admin` and the group
 * `platform`. Everything is closed when the test ends.
 */
export async function startRas(t: TestContext, postgres: TestPostgres, options: RasOptions = {}): Promise<Ras> {
  const url = await createTestDatabase(postgres, `ras_${process.pid}_${++dbCount}`);
  const pool = createPool(url, undefined, 10);
  await ensureEventTables(pool);
  await migrate(pool, MIGRATIONS);
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
    await pool.end();
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
