import { withTransaction, wrapDbError, type Pool } from '@latchkey/db';
import { enqueueEvents, eventTypes, subjects } from '@latchkey/events';
import type { DomainRecord, DomainRepo } from '../domain/ports.js';

interface Row {
  name: string;
  created_at: Date;
  created_by: string;
}
const toRecord = (r: Row): DomainRecord => ({ name: r.name, createdAt: r.created_at, createdBy: r.created_by });

export class PostgresDomainRepo implements DomainRepo {
  constructor(
    private readonly pool: Pool,
    private readonly onCommit: () => void,
  ) {}

  async create(name: string, by: string): Promise<DomainRecord | undefined> {
    try {
      const created = await withTransaction(this.pool, async (tx) => {
        const { rows } = await tx.query<Row>(
          'INSERT INTO domains (name, created_by) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING *',
          [name, by],
        );
        const row = rows[0];
        if (!row) return undefined;
        await enqueueEvents(tx, [
          {
            type: eventTypes.policyChanged,
            subject: subjects.policyChanged(),
            data: { change: 'domain.created', domain: name },
          },
        ]);
        return toRecord(row);
      });
      if (created) this.onCommit();
      return created;
    } catch (err) {
      throw wrapDbError(err, 'creating a domain');
    }
  }

  async get(name: string): Promise<DomainRecord | undefined> {
    try {
      const { rows } = await this.pool.query<Row>('SELECT * FROM domains WHERE name = $1', [name]);
      return rows[0] ? toRecord(rows[0]) : undefined;
    } catch (err) {
      throw wrapDbError(err, 'reading a domain');
    }
  }

  async list(): Promise<DomainRecord[]> {
    try {
      const { rows } = await this.pool.query<Row>('SELECT * FROM domains ORDER BY name');
      return rows.map(toRecord);
    } catch (err) {
      throw wrapDbError(err, 'listing domains');
    }
  }
}
