import { wrapDbError, type Pool } from '@latchkey/db';
import { auditEvent } from '@latchkey/events';
import { changeRecord } from '../domain/audit-records.js';
import type { Actor } from '../domain/grant-types.js';
import type { DomainRecord, DomainRepo } from '../domain/ports.js';
import { granteeIs } from './postgres-grantee-sql.js';
import { createOneRow, policyChanged, readOneRow } from './postgres-one-row.js';
import { columnsOf, DOMAIN_COLUMNS } from './postgres-columns.js';

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

  create(name: string, by: Actor): Promise<DomainRecord | undefined> {
    return createOneRow(
      this.pool,
      `INSERT INTO domains (name, created_by) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING ${DOMAIN_COLUMNS}`,
      [name, by.id],
      () => [
        policyChanged({ change: 'domain.created', domain: name, by: by.id }),
        auditEvent(changeRecord(by, 'domain.create', name, `domain:${name}`)),
      ],
      toRecord,
      () => this.onCommit(),
      'creating a domain',
    );
  }

  get(name: string): Promise<DomainRecord | undefined> {
    return readOneRow(
      this.pool,
      `SELECT ${DOMAIN_COLUMNS} FROM domains WHERE name = $1`,
      [name],
      toRecord,
      'reading a domain',
    );
  }

  async list(): Promise<DomainRecord[]> {
    try {
      const { rows } = await this.pool.query<Row>(`SELECT ${DOMAIN_COLUMNS} FROM domains ORDER BY name`);
      return rows.map(toRecord);
    } catch (err) {
      throw wrapDbError(err, 'listing domains');
    }
  }

  async listWithRole(principal: string, groups: readonly string[]): Promise<DomainRecord[]> {
    try {
      const { rows } = await this.pool.query<Row>(
        `SELECT ${columnsOf('domains', 'd')} FROM domains d
         WHERE EXISTS (SELECT 1 FROM domain_grants WHERE domain = d.name AND ${granteeIs(1, 2)})
         ORDER BY d.name`,
        [principal, [...groups]],
      );
      return rows.map(toRecord);
    } catch (err) {
      throw wrapDbError(err, 'listing domains');
    }
  }
}
