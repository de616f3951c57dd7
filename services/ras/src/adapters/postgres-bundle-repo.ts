import { wrapDbError, type Pool } from '@latchkey/db';
import type { BundleRecord, BundleRepo } from '../domain/ports.js';

interface Row {
  domain: string;
  name: string;
  created_at: Date;
  created_by: string;
}
const toRecord = (r: Row): BundleRecord => ({
  domain: r.domain,
  name: r.name,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

export class PostgresBundleRepo implements BundleRepo {
  constructor(private readonly pool: Pool) {}

  async create(domain: string, name: string, by: string): Promise<BundleRecord | undefined> {
    try {
      const { rows } = await this.pool.query<Row>(
        'INSERT INTO bundles (domain, name, created_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING *',
        [domain, name, by],
      );
      return rows[0] ? toRecord(rows[0]) : undefined;
    } catch (err) {
      throw wrapDbError(err, 'creating a bundle');
    }
  }

  async get(domain: string, name: string): Promise<BundleRecord | undefined> {
    try {
      const { rows } = await this.pool.query<Row>('SELECT * FROM bundles WHERE domain = $1 AND name = $2', [
        domain,
        name,
      ]);
      return rows[0] ? toRecord(rows[0]) : undefined;
    } catch (err) {
      throw wrapDbError(err, 'reading a bundle');
    }
  }

  async list(domain: string): Promise<BundleRecord[]> {
    try {
      const { rows } = await this.pool.query<Row>('SELECT * FROM bundles WHERE domain = $1 ORDER BY name', [domain]);
      return rows.map(toRecord);
    } catch (err) {
      throw wrapDbError(err, 'listing bundles');
    }
  }
}
