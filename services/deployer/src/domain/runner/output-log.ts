import { invalidArgument } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';
import type { OutputLine } from '../deployment-types.js';
import type { WorkloadRepo } from '../ports.js';

/** A deployment keeps at most this much output by default (8 MiB); older lines are dropped. */
export const DEFAULT_OUTPUT_QUOTA_BYTES = 8 * 1024 * 1024;
/** Stored output older than this many days is deleted by default. */
export const DEFAULT_OUTPUT_RETENTION_DAYS = 14;

interface Pending {
  lines: (OutputLine & { bytes: number })[];
  /** Lines before this index were dropped (over the quota before they were stored). */
  head: number;
  bytes: number;
}

export interface OutputLogDeps {
  repo: Pick<WorkloadRepo, 'appendLogs'>;
  logger: Logger;
  /** Per deployment: the most output kept, in bytes; the oldest lines go first. */
  quotaBytes: number;
  /** How long a line waits to be stored with the ones after it. Default 100 ms. */
  flushDelayMs?: number;
}

/**
 * The deployments' output on its way to the store: lines are numbered per
 * deployment, gathered for a moment and stored in one batch per deployment.
 * What waits is bounded: a deployment whose waiting lines exceed its quota
 * loses its oldest ones at once (they would be dropped from the store
 * anyway), so a workload that prints faster than the database writes costs
 * memory and writes bounded by its quota, never a backlog. One store pass runs
 * at a time; a flush asked for meanwhile runs right after it.
 */
export class OutputLog {
  private readonly seqs = new Map<string, number>();
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private draining = false;

  constructor(private readonly deps: OutputLogDeps) {}

  /** A line of `deploymentId`'s output (already masked). */
  add(deploymentId: string, stream: string, line: string): void {
    const seq = (this.seqs.get(deploymentId) ?? 0) + 1;
    this.seqs.set(deploymentId, seq);
    let p = this.pending.get(deploymentId);
    if (!p) {
      p = { lines: [], head: 0, bytes: 0 };
      this.pending.set(deploymentId, p);
    }
    const bytes = Buffer.byteLength(line, 'utf8');
    p.lines.push({ seq, stream, line, bytes });
    p.bytes += bytes;
    while (p.bytes > this.deps.quotaBytes && p.lines.length - p.head > 1) {
      p.bytes -= p.lines[p.head]!.bytes;
      p.head++;
    }
    // Dropped lines are let go in bulk, so that each costs O(1).
    if (p.head > 1024 && p.head * 2 > p.lines.length) {
      p.lines = p.lines.slice(p.head);
      p.head = 0;
    }
    this.timer ??= setTimeout(() => void this.flush(), this.deps.flushDelayMs ?? 100);
  }

  /** Resolves once every line added before the call is stored (or its store failed, with a warning). */
  flush(): Promise<void> {
    this.again = true;
    if (this.running) return this.running;
    const pass = this.drain();
    // (A drain with nothing to await has ended already: it is not kept as the running one.)
    if (this.draining) this.running = pass;
    return pass;
  }

  /** The deployment ended: the next one's lines start from 1 again. */
  forget(deploymentId: string): void {
    this.seqs.delete(deploymentId);
  }

  /**
   * Store passes until no flush waits. `running` is cleared by the pass that
   * found nothing more to do, before its promise settles: a flush asked for
   * after that starts a new pass instead of being handed a finished one
   * (whose lines it would wrongly count as stored).
   */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.again) {
        this.again = false;
        clearTimeout(this.timer);
        this.timer = undefined;
        await this.store(this.pending);
      }
    } finally {
      this.draining = false;
      this.running = undefined;
    }
  }

  private async store(pending: Map<string, Pending>): Promise<void> {
    this.pending = new Map();
    for (const [id, p] of pending) {
      try {
        await this.deps.repo.appendLogs(id, p.lines.slice(p.head).map(toLine), this.deps.quotaBytes);
      } catch (err) {
        this.deps.logger.warn('could not store workload output', { deploymentId: id, err });
      }
    }
  }
}

const toLine = ({ seq, stream, line }: OutputLine): OutputLine => ({ seq, stream, line });

/** `logs` returns at most this many lines per page by default, and never more than LOGS_PAGE_MAX_LINES. */
export const LOGS_PAGE_DEFAULT_LINES = 1000;
export const LOGS_PAGE_MAX_LINES = 5000;
/** A page stops before this many bytes of line text, well under gRPC's 4 MB message limit. */
export const LOGS_PAGE_MAX_BYTES = 2 * 1024 * 1024;

/** The page token after line `seq`: opaque to clients. */
export function pageTokenAfter(seq: number): string {
  return Buffer.from(`after:${seq}`, 'utf8').toString('base64url');
}

/** The seq a page token continues after (0 for none). */
export function seqOfPageToken(token: string): number {
  if (token === '') return 0;
  const m = /^after:(\d{1,10})$/.exec(token.length <= 32 ? Buffer.from(token, 'base64url').toString('utf8') : '');
  if (!m) {
    throw invalidArgument(
      'logs.bad_page_token',
      'the page token is not one this deployer gave: pass the next_page_token of the previous page unchanged, or none to start from the oldest line kept',
    );
  }
  return Number(m[1]);
}

/** The page size asked for, checked. */
export function logsPageSize(asked: number | undefined): number {
  if (asked === undefined || asked === 0) return LOGS_PAGE_DEFAULT_LINES;
  if (!Number.isInteger(asked) || asked < 1 || asked > LOGS_PAGE_MAX_LINES) {
    throw invalidArgument(
      'logs.bad_page_size',
      `page size ${asked} is out of range: ask for 1 to ${LOGS_PAGE_MAX_LINES} lines (0 or none: ${LOGS_PAGE_DEFAULT_LINES})`,
    );
  }
  return asked;
}

/**
 * The output retention: deletes every output line stored more than
 * `retentionDays` before `now`, a batch at a time (no long transaction);
 * how many it deleted.
 */
export async function sweepOutput(
  repo: Pick<WorkloadRepo, 'deleteLogsOlderThan'>,
  retentionDays: number,
  now: Date,
  batch = 10_000,
): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  let total = 0;
  for (;;) {
    const n = await repo.deleteLogsOlderThan(cutoff, batch);
    total += n;
    if (n < batch) return total;
  }
}
