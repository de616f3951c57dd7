// Workload output end to end inside the deployer: a real child process, the
// deployer's output log, PostgreSQL, and the GetLogs handler.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { isLatchkeyError } from '@latchkey/errors';
import type { CallContext } from '@latchkey/grpc';
import { DEFAULT_MAX_LINE_BYTES, silentLogger } from '@latchkey/logger';
import { GetLogsResponse, type GetLogsRequest } from '@latchkey/proto';
import { acquireTestPostgres, waitFor, type TestPostgres } from '@latchkey/testing';
import { PostgresWorkloadRepo } from '../src/adapters/postgres-workload-repo.js';
import { sandboxedRuntime } from './sandboxed-runtime.js';
import { LOGS_PAGE_MAX_BYTES, sweepOutput } from '../src/domain/runner/output-log.js';
import { deployerHandlers } from '../src/transport/grpc/deployer-handler.js';
import { computeSpec, migratedPool, newKeys, resolve } from './deployer-test-support.js';
import { testWorkloadService } from './deployer-services.js';

let postgres: TestPostgres;
before(async () => {
  postgres = await acquireTestPostgres();
});
after(async () => {
  await postgres?.stop();
});

/** One deployer (process runtime) over a fresh database. */
async function deployer(t: TestContext, outputQuotaBytes?: number) {
  const pool = await migratedPool(t, postgres, 'deployer_output');
  const workDir = await mkdtemp(join(tmpdir(), 'lk-output-'));
  const runtime = await sandboxedRuntime(workDir);
  const keys = newKeys();
  const repo = new PostgresWorkloadRepo(pool);
  const workloads = testWorkloadService(repo, {
    runtime,
    sealKeys: new Map([[keys.kid, keys]]),
    runner: 'deployer-1',
    ...(outputQuotaBytes === undefined ? {} : { outputQuotaBytes }),
  });
  t.after(async () => {
    await workloads.stopAll();
    await rm(workDir, { recursive: true, force: true });
  });
  /** Applies and deploys a workload running `script` under node; resolves once it runs. */
  const run = async (domain: string, name: string, script: string) => {
    await workloads.apply(
      'mia',
      domain,
      JSON.stringify(
        computeSpec(name, domain, ['db_password'], { run: { command: [process.execPath, '-e', script] } }),
      ),
    );
    const d = await workloads.deploy('mia', domain, name);
    await resolve({ repo, workloads }, keys, d);
    return d;
  };
  const ended = (id: string) =>
    waitFor(
      async () => {
        const s = (await repo.getDeployment(id))?.status;
        return s === 'exited' || s === 'stopped' ? s : undefined;
      },
      { what: `deployment ${id} to end`, timeoutMs: 120_000 },
    );
  const handlers = deployerHandlers(workloads);
  const ctx = {
    principal: { id: 'mia', kind: 'user', groups: [] },
    requestId: 'r',
    logger: silentLogger,
  } as CallContext;
  const getLogs = (req: Partial<GetLogsRequest> & { domain: string; name: string }) =>
    handlers.getLogs({ deploymentId: '', pageToken: '', pageSize: 0, ...req }, ctx);
  return { pool, repo, workloads, run, ended, getLogs };
}

type Deployer = Awaited<ReturnType<typeof deployer>>;

/** Every page of a deployment's output through GetLogs, each checked to fit a gRPC message. */
async function allPages(getLogs: Deployer['getLogs'], domain: string, name: string) {
  const pages: GetLogsResponse[] = [];
  let pageToken = '';
  for (;;) {
    const page = await getLogs({ domain, name, pageToken });
    const size = GetLogsResponse.encode(page).finish().length;
    assert.ok(size < 4 * 1024 * 1024, `page ${pages.length} is ${size} bytes, over gRPC's 4 MB`);
    pages.push(page);
    pageToken = page.nextPageToken;
    if (!page.more) return pages;
  }
}

test('25,000 lines of 8 KB are cut to the output quota, the oldest dropped; logs pages through what is kept and says how many went', async (t) => {
  const quota = 1024 * 1024;
  const h = await deployer(t, quota);
  // Each line: its number, padded to 8 KB.
  const d = await h.run(
    'analytics',
    'flood',
    `for (let i = 1; i <= 25000; i++) process.stdout.write(String(i).padEnd(8191, '.') + '\\n')`,
  );
  await h.ended(d.id);
  const { rows } = await h.pool.query<{ n: string; bytes: string; first: number; last: number }>(
    'SELECT count(*) AS n, sum(octet_length(line)) AS bytes, min(seq) AS first, max(seq) AS last FROM deployment_logs WHERE deployment_id = $1',
    [d.id],
  );
  const kept = rows[0]!;
  assert.ok(Number(kept.bytes) <= quota, `${kept.bytes} bytes kept, over the quota ${quota}`);
  assert.equal(kept.last, 25_000, 'the newest line is kept');
  assert.equal(Number(kept.n), kept.last - kept.first + 1, 'what is kept is the newest lines, without a gap');
  assert.ok(Number(kept.n) >= quota / 8192 - 1, `${kept.n} lines kept: the quota is used`);
  const pages = await allPages(h.getLogs, 'analytics', 'flood');
  const lines = pages.flatMap((p) => p.lines);
  assert.equal(lines.length, Number(kept.n));
  assert.equal(pages[0]!.droppedLines, kept.first - 1, 'the first page says how many earlier lines were dropped');
  assert.deepEqual(
    lines.map((l) => Number(l.line.replace(/\.+$/, ''))),
    lines.map((_, i) => kept.first + i),
    'in order, each line whole',
  );
  assert.ok(pages.every((p) => p.ended));
});

test('logs of an output larger than a gRPC message pages (each page under 2 MiB of text) instead of failing, and a bad page token says what to pass', async (t) => {
  const h = await deployer(t);
  // 8 MB of output, within the default quota (8 MiB).
  const d = await h.run('analytics', 'big', `for (let i = 1; i <= 1000; i++) console.log(String(i).padEnd(8000, '-'))`);
  await h.ended(d.id);
  const pages = await allPages(h.getLogs, 'analytics', 'big');
  assert.ok(pages.length >= 4, `${pages.length} pages`);
  for (const p of pages) {
    const text = p.lines.reduce((n, l) => n + Buffer.byteLength(l.line), 0);
    assert.ok(text <= LOGS_PAGE_MAX_BYTES, `a page of ${text} bytes`);
  }
  const lines = pages.flatMap((p) => p.lines);
  assert.deepEqual(
    lines.map((l) => l.seq),
    Array.from({ length: 1000 }, (_, i) => i + 1),
  );
  assert.equal(pages[0]!.droppedLines, 0);
  // Following at the end: nothing more, the token stays where it was.
  const tail = await h.getLogs({ domain: 'analytics', name: 'big', pageToken: pages.at(-1)!.nextPageToken });
  assert.deepEqual(
    [tail.lines.length, tail.more, tail.ended, tail.nextPageToken],
    [0, false, true, pages.at(-1)!.nextPageToken],
  );
  const small = await h.getLogs({ domain: 'analytics', name: 'big', pageSize: 10 });
  assert.deepEqual([small.lines.length, small.more], [10, true]);
  for (const [req, code] of [
    [{ pageToken: 'not-a-token' }, 'logs.bad_page_token'],
    [{ pageSize: 5001 }, 'logs.bad_page_size'],
    [{ pageSize: -1 }, 'logs.bad_page_size'],
  ] as const)
    await assert.rejects(
      h.getLogs({ domain: 'analytics', name: 'big', ...req }),
      (err: unknown) => isLatchkeyError(err) && err.code === code && err.kind === 'invalid_argument',
    );
});

test("a workload printing one endless line (no newline) does not starve another domain's deployment; its line is stored cut", async (t) => {
  const h = await deployer(t);
  const flood = await h.run(
    'analytics',
    'endless',
    `process.stdout.write('flooding\\n'); const b = 'x'.repeat(65536); (function more() { process.stdout.write(b, more); })()`,
  );
  // The flood has started (its first line is stored) before anything is judged: a stop that came before its
  // first write would leave no endless line to find (seen once in CI on a loaded machine).
  await waitFor(
    async () => (await h.getLogs({ domain: 'analytics', name: 'endless' })).lines.some((l) => l.line === 'flooding'),
    { what: 'the flood to start writing', timeoutMs: 30_000 },
  );
  // Finance deploys, runs and has its output stored while the flood goes on.
  const other = await h.run('finance', 'quick', `console.log('finance says hello')`);
  assert.equal(await h.ended(other.id), 'exited');
  const page = await h.getLogs({ domain: 'finance', name: 'quick' });
  assert.deepEqual(
    page.lines.map((l) => l.line),
    ['finance says hello'],
  );
  assert.equal((await h.repo.getDeployment(flood.id))?.status, 'deployed', 'the flood was still running');
  await h.workloads.stop('mia', 'analytics', 'endless');
  await h.ended(flood.id);
  const lines = (await h.getLogs({ domain: 'analytics', name: 'endless' })).lines.map((l) => l.line);
  assert.equal(lines.length, 2, `the marker and the endless line: ${lines.map((l) => l.slice(0, 40)).join(' | ')}`);
  const line = lines[1]!;
  assert.match(line, /^x+ … \[cut: \d+ bytes\]$/);
  assert.equal(line.indexOf(' '), DEFAULT_MAX_LINE_BYTES);
});

test('output older than the retention is deleted; newer output is kept', async (t) => {
  const h = await deployer(t);
  const d = await h.run('analytics', 'short', `console.log('one'); console.log('two')`);
  await h.ended(d.id);
  assert.equal(await sweepOutput(h.repo, 14, new Date()), 0);
  assert.equal((await h.getLogs({ domain: 'analytics', name: 'short' })).lines.length, 2);
  // Fifteen days later, with batches of one line: all of it goes.
  assert.equal(await sweepOutput(h.repo, 14, new Date(Date.now() + 15 * 86_400_000), 1), 2);
  assert.equal((await h.getLogs({ domain: 'analytics', name: 'short' })).lines.length, 0);
});

test('the store keeps a deployment within its quota across batches: the oldest lines are deleted, each once, and only its own', async (t) => {
  const h = await deployer(t);
  const a = await h.run('analytics', 'a', `console.log('a')`);
  const b = await h.run('finance', 'b', `console.log('b')`);
  await Promise.all([h.ended(a.id), h.ended(b.id)]);
  const quota = 100 * 1000;
  const batch = (from: number) =>
    Array.from({ length: 40 }, (_, i) => ({ seq: from + i, stream: 'stdout', line: 'q'.repeat(1000) }));
  for (const from of [10, 50, 90]) await h.repo.appendLogs(a.id, batch(from), quota);
  const seqs = async (id: string) =>
    (
      await h.pool.query<{ seq: number }>('SELECT seq FROM deployment_logs WHERE deployment_id = $1 ORDER BY seq', [id])
    ).rows.map((r) => r.seq);
  // 120 lines of 1000 bytes appended, 100 kept: the newest.
  assert.deepEqual(
    await seqs(a.id),
    Array.from({ length: 100 }, (_, i) => 30 + i),
  );
  assert.deepEqual(await seqs(b.id), [1], "another deployment's output is untouched");
  const first = await h.getLogs({ domain: 'analytics', name: 'a' });
  assert.equal(first.droppedLines, 29);
  // A read stops before its byte limit (each line counted with 64 bytes of framing), with at least one line.
  const three = await h.repo.readLogs(a.id, 0, 100, 3 * 1064);
  assert.deepEqual([three.lines.map((l) => l.seq), three.more], [[30, 31, 32], true]);
  const one = await h.repo.readLogs(a.id, 0, 100, 10);
  assert.deepEqual([one.lines.map((l) => l.seq), one.more], [[30], true]);
  const last = await h.repo.readLogs(a.id, 120, 100, 1 << 20);
  assert.deepEqual([last.lines.map((l) => l.seq), last.more], [[121, 122, 123, 124, 125, 126, 127, 128, 129], false]);
});
