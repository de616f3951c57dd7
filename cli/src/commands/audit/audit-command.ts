import type { AuditEntry } from '@latchkey/proto';
import { stringOption } from '../args-parser.js';
import { UsageError } from '../../output/cli-errors.js';
import { invoke, withClients } from '../../client/client-context.js';
import { defineCommand, JSON_OPTION, stringOptions } from '../command.js';
import { printJson, printTable } from '../../output/table-format.js';

/** What ListAudit gives in one page at most. */
const MAX_PAGE = 1000;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 100_000;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--since`: an RFC 3339 time (2025-01-31T12:00:00Z) or a duration back from
 * now (30s, 15m, 2h, 7d). Returns the RFC 3339 time to send.
 */
export function sinceOption(value: string | undefined, now: number = Date.now()): string {
  if (value === undefined) return '';
  const rel = /^(\d{1,6})([smhd])$/.exec(value);
  if (rel) return new Date(now - Number(rel[1]) * (UNIT_MS[rel[2] ?? 's'] ?? 1000)).toISOString();
  if (
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) &&
    !Number.isNaN(Date.parse(value))
  ) {
    return value;
  }
  throw new UsageError(
    `--since ${JSON.stringify(value.slice(0, 40))}: give an RFC 3339 time (2025-01-31T12:00:00Z) or a duration back from now (30s, 15m, 2h, 7d)`,
  );
}

function limitOption(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_LIMIT) {
    throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  return n;
}

export const auditCommand = defineCommand({
  path: ['audit'],
  usage: 'latchkey audit [--domain DOMAIN] [--since TIME|30m|2h|7d] [--actor USER] [--limit N] [--json]',
  summary:
    "audit records, newest first: decisions and changes (a domain's owners see its records, platform admins all)",
  options: { ...stringOptions('domain', 'since', 'actor', 'limit'), ...JSON_OPTION },
  async run({ parsed, json }, io) {
    const domain = stringOption(parsed, 'domain') ?? '';
    const since = sinceOption(stringOption(parsed, 'since'));
    const actor = stringOption(parsed, 'actor') ?? '';
    const limit = limitOption(stringOption(parsed, 'limit'));
    const records: AuditEntry[] = [];
    let more = false;
    await withClients(io, async (ctx) => {
      let pageToken = '';
      while (records.length < limit) {
        const res = await invoke(ctx, 'ras', (ras) => ras.listAudit, {
          domain,
          since,
          actor,
          limit: Math.min(MAX_PAGE, limit - records.length),
          pageToken,
        });
        records.push(...res.records);
        more = res.nextPageToken !== '';
        if (!more || res.nextPageToken === pageToken) break;
        pageToken = res.nextPageToken;
      }
    });
    // Every field of every record, empty ones included, so scripts see one shape.
    if (json) return printJson(io.out, { records, more });
    if (records.length === 0) {
      io.out('no audit records match');
      return 0;
    }
    printTable(
      io.out,
      ['AT', 'SERVICE', 'ACTOR', 'ACTION', 'DOMAIN', 'RESOURCE', 'OUTCOME', 'REASON'],
      records.map((r) => [r.at, r.service, r.actor, r.action, r.domain, r.resource, r.outcome, r.reason]),
    );
    if (more) io.out(`more records: narrow with --since or --actor, or raise --limit (now ${limit})`);
    return 0;
  },
});
