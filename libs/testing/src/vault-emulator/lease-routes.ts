/**
 * The Vault emulator's database secrets engine routes (`<mount>/creds/<role>`)
 * and lease routes (`sys/leases/renew|revoke|lookup`), over database-engine.ts.
 * Shapes from Vault's API documentation; see database-engine.ts for the rules.
 */
import type { DatabaseEngines, LeaseRecord } from './database-engine.js';
import { errors, unsupportedOperation } from './failure.js';
import { envelope } from './responses.js';
import { parseDuration, type VaultReply, type VaultRequest } from './routes.js';
import { checkPolicy, joinNs, type TokenState } from './store.js';

const seconds = (ms: number) => Math.max(0, Math.floor(ms / 1000));
const iso = (ms: number) => new Date(ms).toISOString();

/** Everything below a database mount; `rest` is the path after `<mount>/`. Only `creds/<role>` is served. */
export function databaseRoute(
  engines: DatabaseEngines,
  ns: string,
  mount: string,
  rest: string,
  req: VaultRequest,
): VaultReply {
  const creds = /^creds\/([^/]+)$/.exec(rest);
  if (!creds) throw errors(404, `1 error occurred:\n\t* unsupported path\n\n`);
  if (req.method !== 'GET' || req.isList) throw unsupportedOperation();
  const lease = engines.issue(ns, mount, creds[1] as string);
  return {
    status: 200,
    body: envelope(
      { username: lease.username, password: lease.password },
      {
        lease_id: lease.leaseId,
        renewable: true,
        lease_duration: seconds(lease.expiresAt - lease.issuedAt),
        mount_type: 'database',
      },
    ),
  };
}

function leaseIdOf(req: VaultRequest): string {
  const id = req.body['lease_id'];
  if (typeof id !== 'string' || id.trim() === '') throw errors(400, 'lease_id must be specified');
  return id.trim();
}

function lookupBody(engines: DatabaseEngines, lease: LeaseRecord) {
  return envelope(
    {
      expire_time: iso(lease.expiresAt),
      id: lease.leaseId,
      issue_time: iso(lease.issuedAt),
      last_renewal: lease.lastRenewal === undefined ? null : iso(lease.lastRenewal),
      renewable: true,
      ttl: seconds(lease.expiresAt - engines.clock.now()),
    },
    { mount_type: 'system' },
  );
}

/** `sys/leases/renew`, `sys/leases/revoke`, `sys/leases/lookup` (PUT or POST); undefined for any other path. */
export function leaseRoute(
  engines: DatabaseEngines,
  ns: string,
  rel: string,
  state: TokenState,
  req: VaultRequest,
): VaultReply | undefined {
  const op = /^sys\/leases\/(renew|revoke|lookup)$/.exec(rel)?.[1];
  if (op === undefined) return undefined;
  if (req.method !== 'PUT' && req.method !== 'POST') throw unsupportedOperation();
  checkPolicy(state, joinNs(ns, rel));
  const leaseId = leaseIdOf(req);
  if (op === 'revoke') {
    engines.revoke(ns, leaseId);
    return { status: 204 };
  }
  if (op === 'lookup') return { status: 200, body: lookupBody(engines, engines.lookup(ns, leaseId)) };
  const rawIncrement = req.body['increment'];
  const increment = rawIncrement === undefined ? undefined : parseDuration(rawIncrement);
  if (rawIncrement !== undefined && increment === undefined) {
    throw errors(400, `invalid increment: ${JSON.stringify(rawIncrement)}`);
  }
  const { lease, warning } = engines.renew(ns, leaseId, increment);
  return {
    status: 200,
    body: envelope(null, {
      lease_id: lease.leaseId,
      renewable: true,
      lease_duration: seconds(lease.expiresAt - engines.clock.now()),
      warnings: warning === undefined ? null : [warning],
      mount_type: 'system',
    }),
  };
}
