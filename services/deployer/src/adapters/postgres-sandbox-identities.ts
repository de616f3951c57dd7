import type { OsUserIds } from '@latchkey/embedded';
import { LatchkeyError } from '@latchkey/errors';
import { wrapDbError, type Pool } from '@latchkey/db';
import type { SandboxIdentities } from './process-sandbox.js';

/**
 * Domain -> uid, allocated once from `range` in the deployer's database, so
 * that every replica runs a domain's workloads as the same uid and two
 * domains never share one. Cached: an allocation never changes.
 */
export class PostgresSandboxIdentities implements SandboxIdentities {
  private readonly known = new Map<string, OsUserIds>();

  constructor(
    private readonly pool: Pool,
    private readonly range: { first: number; last: number },
  ) {}

  async identityFor(domain: string): Promise<OsUserIds> {
    const cached = this.known.get(domain);
    if (cached) return cached;
    // Two replicas may pick the same free uid at once: the loser's insert does
    // nothing (unique uid) and it picks again; the domain's own row wins over all.
    for (let attempt = 0; attempt < 20; attempt++) {
      let uid: number | undefined;
      try {
        const existing = await this.pool.query<{ uid: string }>(
          'SELECT uid FROM sandbox_identities WHERE domain = $1',
          [domain],
        );
        uid = existing.rows[0] ? Number(existing.rows[0].uid) : undefined;
        if (uid === undefined) {
          const inserted = await this.pool.query<{ uid: string }>(
            `INSERT INTO sandbox_identities (domain, uid)
             SELECT $1, g FROM generate_series($2::bigint, $3::bigint) AS g
             WHERE NOT EXISTS (SELECT 1 FROM sandbox_identities s WHERE s.uid = g)
             ORDER BY g LIMIT 1
             ON CONFLICT DO NOTHING
             RETURNING uid`,
            [domain, this.range.first, this.range.last],
          );
          uid = inserted.rows[0] ? Number(inserted.rows[0].uid) : undefined;
          if (uid === undefined && (await this.full())) {
            throw new LatchkeyError(
              'runtime.sandbox_uids_exhausted',
              `every uid of LATCHKEY_SANDBOX_UID_RANGE (${this.range.first}-${this.range.last}) is given to a domain: widen the range`,
            );
          }
        }
      } catch (err) {
        if (err instanceof LatchkeyError) throw err;
        throw wrapDbError(err, 'allocating a sandbox uid');
      }
      if (uid !== undefined) {
        const ids = { uid, gid: uid };
        this.known.set(domain, ids);
        return ids;
      }
    }
    throw new LatchkeyError(
      'runtime.sandbox_uid_contended',
      `could not allocate a sandbox uid for domain ${domain}: try again`,
      {
        retryable: true,
      },
    );
  }

  private async full(): Promise<boolean> {
    const r = await this.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM sandbox_identities WHERE uid BETWEEN $1 AND $2',
      [this.range.first, this.range.last],
    );
    return Number(r.rows[0]?.n ?? 0) >= this.range.last - this.range.first + 1;
  }
}
