import type { Queryable } from '@latchkey/db';
import { withTransaction, type Pool } from '@latchkey/db';
import type { LogLineRecord, OutputLine } from '../domain/deployment-types.js';

/**
 * Workload output in PostgreSQL (deployment_logs), within a quota per
 * deployment (see migration 007). Every statement touches the lines it
 * writes, reads or deletes through an index: appending, paging and dropping
 * cost what they move, not what is stored.
 */
export class PostgresOutputStore {
  constructor(private readonly pool: Pool) {}

  /** Appends `lines` (in seq order), then drops the deployment's oldest lines beyond `quotaBytes`. */
  async append(deploymentId: string, lines: readonly OutputLine[], quotaBytes: number): Promise<void> {
    if (lines.length === 0) return;
    const sizes = lines.map((l) => Buffer.byteLength(l.line, 'utf8'));
    const batch = sizes.reduce((a, b) => a + b, 0);
    await withTransaction(this.pool, async (tx: Queryable) => {
      const { rows } = await tx.query<{ appended_bytes: string }>(
        `INSERT INTO deployment_log_usage (deployment_id, appended_bytes) VALUES ($1, $2)
         ON CONFLICT (deployment_id) DO UPDATE SET appended_bytes = deployment_log_usage.appended_bytes + EXCLUDED.appended_bytes
         RETURNING appended_bytes`,
        [deploymentId, batch],
      );
      const total = Number(rows[0]!.appended_bytes);
      const floor = total - quotaBytes;
      const keep = { seq: [] as number[], stream: [] as string[], line: [] as string[], bytes: [] as number[] };
      const starts: number[] = [];
      let start = total - batch;
      lines.forEach((l, i) => {
        // A line that starts below the floor would be dropped at once: not written.
        if (start >= floor) {
          keep.seq.push(l.seq);
          keep.stream.push(l.stream);
          keep.line.push(l.line);
          keep.bytes.push(sizes[i]!);
          starts.push(start);
        }
        start += sizes[i]!;
      });
      if (keep.seq.length > 0)
        await tx.query(
          `INSERT INTO deployment_logs (deployment_id, seq, stream, line, bytes, start_offset)
           SELECT $1, u.seq, u.stream, u.line, u.bytes, u.start_offset
           FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::bigint[]) AS u (seq, stream, line, bytes, start_offset)
           ON CONFLICT DO NOTHING`,
          [deploymentId, keep.seq, keep.stream, keep.line, keep.bytes, starts],
        );
      if (floor > 0)
        await tx.query('DELETE FROM deployment_logs WHERE deployment_id = $1 AND start_offset < $2', [
          deploymentId,
          floor,
        ]);
    });
  }

  /**
   * Up to `limit` lines after `afterSeq`, in order, stopping before
   * `maxBytes` of line text (each line counted with 64 bytes of framing; the
   * first line always); `more` when lines after them are stored. Sizes are
   * summed from the size column, so lines that do not fit are never fetched.
   */
  async read(
    deploymentId: string,
    afterSeq: number,
    limit: number,
    maxBytes: number,
  ): Promise<{ lines: LogLineRecord[]; more: boolean }> {
    const { rows } = await this.pool.query<{
      seq: number;
      stream: string;
      line: string;
      at: Date;
      considered: string;
    }>(
      `WITH page AS (
         SELECT seq, sum((CASE WHEN bytes > 0 THEN bytes ELSE octet_length(line) END) + 64) OVER (ORDER BY seq) AS running
         FROM (SELECT seq, bytes, line FROM deployment_logs
               WHERE deployment_id = $1 AND seq > $2 ORDER BY seq LIMIT $3) AS next_lines
       ), fits AS (
         SELECT seq FROM page WHERE running <= $4 OR seq = (SELECT min(seq) FROM page)
       )
       SELECT l.seq, l.stream, l.line, l.at, (SELECT count(*) FROM page) AS considered
       FROM deployment_logs l
       WHERE l.deployment_id = $1 AND l.seq IN (SELECT seq FROM fits)
       ORDER BY l.seq`,
      [deploymentId, afterSeq, limit + 1, maxBytes],
    );
    const lines = rows.slice(0, limit).map(({ seq, stream, line, at }) => ({ seq, stream, line, at }));
    return { lines, more: Number(rows[0]?.considered ?? 0) > lines.length };
  }

  /** Deletes up to `batch` lines stored before `cutoff`; how many it deleted. */
  async deleteOlderThan(cutoff: Date, batch: number): Promise<number> {
    const res = await this.pool.query(
      'DELETE FROM deployment_logs WHERE ctid = ANY (ARRAY(SELECT ctid FROM deployment_logs WHERE at < $1 LIMIT $2))',
      [cutoff, batch],
    );
    return res.rowCount ?? 0;
  }
}
