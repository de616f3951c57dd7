import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readConnectionFile, type MetricsTarget } from '@latchkey/cli';
import { ensurePrometheusBinary, findFreePort } from '@latchkey/embedded';
import { waitFor } from '@latchkey/testing';
import { findLeak } from './canary-scan.js';
import { recordedCli } from './recorded-cli.js';
import { startSystem } from './system-harness.js';

const SERVICES = ['ras', 'catalog', 'resolver', 'deployer', 'gateway'];

/** Samples of one scrape: `name{labels}` (labels as exposed, `service` last) -> value. */
type Scrape = Map<string, number>;

function parseExposition(text: string): Scrape {
  const samples: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** The sum of every sample of `name` whose labels include all of `labels` (0 when there is none). */
function total(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [series, value] of scrape) {
    const brace = series.indexOf('{');
    if ((brace === -1 ? series : series.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) sum += value;
  }
  return sum;
}

interface PromVector {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

test('metrics: after a known sequence every service counts it on /metrics, and a real Prometheus scraping the system reads the same counts; no value or token in any scraped byte', async (t) => {
  const sys = await startSystem();
  t.after(() => sys.cleanup());
  const { outputs, cli, ok } = recordedCli(sys);
  const canaries = [1, 2].map((i) => `metric-canary-${i}-${randomBytes(12).toString('hex')}`);

  // Every replica's listener, as `latchkey up` wrote them down and `latchkey status` shows them.
  const connection = await readConnectionFile(sys.home);
  const targets: MetricsTarget[] = connection.metrics ?? [];
  assert.deepEqual(targets.map((m) => m.service).sort(), [...SERVICES].sort());
  const status = JSON.parse((await ok(['status', '--json'])).stdout) as { metrics: { replica: string; url: string }[] };
  assert.deepEqual(status.metrics.map((m) => m.url).sort(), targets.map((m) => `http://${m.address}/metrics`).sort());
  const fileSd = JSON.parse(await readFile(join(sys.home, 'metrics-targets.json'), 'utf8')) as {
    targets: string[];
    labels: { replica: string };
  }[];
  assert.deepEqual(fileSd.flatMap((g) => g.targets).sort(), targets.map((m) => m.address).sort());

  const scraped: string[] = [];
  const scrapeAll = async (): Promise<Record<string, Scrape>> => {
    const out: Record<string, Scrape> = {};
    for (const target of targets) {
      const res = await fetch(`http://${target.address}/metrics`);
      assert.equal(res.status, 200, `${target.replica}'s /metrics`);
      const text = await res.text();
      scraped.push(text);
      out[target.service] = parseExposition(text);
    }
    return out;
  };

  // The known sequence: two deploys that succeed, one that fails for a missing
  // secret, a rotation marking both dependents stale, a redeploy of one of them.
  await ok(['domain', 'create', 'analytics']);
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], canaries[0]);
  const run = { command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] };
  const ref = (key: string) => ({ key, source: { type: 'MANAGED', id: 'analytics' } });
  const docs = {
    'app-a': { envVars: { DB_PASSWORD: ref('db_password') } },
    'app-b': { envVars: { DB_PASSWORD: ref('db_password') } },
    broken: { envVars: { DB_PASSWORD: ref('absent_key') } },
  };
  for (const [name, doc] of Object.entries(docs)) {
    const file = join(sys.home, `${name}.json`);
    await writeFile(file, JSON.stringify({ name, kind: 'COMPUTE', run, ...doc }));
    await ok(['workload', 'apply', '-f', file, '--domain', 'analytics']);
  }
  await ok(['deploy', 'app-a', '--domain', 'analytics', '--wait']);
  await ok(['deploy', 'app-b', '--domain', 'analytics', '--wait']);
  const failed = await cli(['deploy', 'broken', '--domain', 'analytics', '--wait', '--json']);
  assert.notEqual(failed.code, 0, `the deploy of a missing secret fails: ${failed.stdout}`);
  assert.equal((JSON.parse(failed.stdout) as { status: string }).status, 'failed');
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], canaries[1]);
  await waitFor(
    async () => {
      const r = await ok(['workload', 'list', '--stale', '--domain', 'analytics', '--json']);
      return ((JSON.parse(r.stdout) as { workloads?: unknown[] }).workloads ?? []).length === 2;
    },
    { what: 'both dependents marked stale', timeoutMs: 30_000 },
  );
  await ok(['redeploy', 'app-a', '--domain', 'analytics', '--wait']);

  // What each service counted (the outbox gauges once every event went out).
  const expected = {
    deployed: 3,
    failed: 1,
    stale: 2,
    redeploys: 1,
    managedRefs: 3,
    resolutions: 4,
  };
  const counts = await waitFor(
    async () => {
      const s = await scrapeAll();
      const pending = ['ras', 'catalog', 'deployer'].map((svc) => total(s[svc]!, 'latchkey_outbox_pending_rows'));
      return pending.every((p) => p === 0) && s;
    },
    { what: 'every outbox drained', timeoutMs: 30_000 },
  );
  const deployer = counts['deployer']!;
  const resolver = counts['resolver']!;
  assert.equal(total(deployer, 'latchkey_deployments_total', { outcome: 'deployed' }), expected.deployed);
  assert.equal(total(deployer, 'latchkey_deployments_total', { outcome: 'failed' }), expected.failed);
  assert.equal(total(deployer, 'latchkey_stale_marks_total'), expected.stale);
  assert.equal(total(deployer, 'latchkey_redeploys_total', { trigger: 'redeploy' }), expected.redeploys);
  assert.equal(total(deployer, 'latchkey_redeploys_total', { trigger: 'auto' }), 0);
  assert.equal(total(resolver, 'latchkey_references_resolved_total', { source: 'managed' }), expected.managedRefs);
  assert.equal(total(resolver, 'latchkey_references_resolved_total', { source: 'vault' }), 0);
  assert.equal(total(resolver, 'latchkey_resolution_duration_seconds_count'), expected.resolutions);
  assert.equal(total(resolver, 'latchkey_resolution_duration_seconds_bucket', { le: '+Inf' }), expected.resolutions);
  for (const svc of ['catalog', 'resolver', 'deployer']) {
    assert.ok(
      total(counts[svc]!, 'latchkey_decision_cache_lookups_total', { result: 'miss' }) >= 1,
      `${svc} asked ras at least once`,
    );
  }
  for (const svc of ['ras', 'catalog', 'deployer']) {
    assert.ok(counts[svc]!.has(`latchkey_outbox_oldest_pending_seconds{service="${svc}"}`), `${svc}'s outbox lag`);
  }
  for (const svc of SERVICES) {
    assert.ok(total(counts[svc]!, 'process_cpu_user_seconds_total') > 0, `${svc}'s default process metrics`);
  }

  // The real check: Debian's Prometheus scrapes the system from the file `latchkey up` wrote.
  const prometheus = await ensurePrometheusBinary({ log: (l) => t.diagnostic(l) }).catch((err: unknown) => err);
  if (typeof prometheus !== 'string') {
    const reason = `Prometheus cannot be installed here, so the scrape by a real server is not checked: ${(prometheus as Error).message}`;
    console.log(`# SKIP ${reason}`);
    t.diagnostic(reason);
  } else {
    const dir = await mkdtemp(join(tmpdir(), 'latchkey-prometheus-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const config = join(dir, 'prometheus.yml');
    await writeFile(
      config,
      [
        'global: { scrape_interval: 1s, scrape_timeout: 1s }',
        'scrape_configs:',
        '  - job_name: latchkey',
        `    file_sd_configs: [{ files: ['${join(sys.home, 'metrics-targets.json')}'], refresh_interval: 1s }]`,
        '',
      ].join('\n'),
    );
    const port = await findFreePort();
    let log = '';
    const server: ChildProcess = spawn(
      prometheus,
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
    server.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    t.after(async () => {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
      await exited;
    });
    const query = async (promql: string): Promise<PromVector['data']['result']> => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = await res.text();
      scraped.push(body);
      const parsed = JSON.parse(body) as PromVector;
      assert.equal(parsed.status, 'success', body);
      return parsed.data.result;
    };
    const scalar = async (promql: string): Promise<number | undefined> => {
      const r = await query(promql);
      return r[0] === undefined ? undefined : Number(r[0].value[1]);
    };
    await waitFor(
      async () => {
        if (server.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
        return (await scalar('sum(up{job="latchkey"})').catch(() => undefined)) === targets.length;
      },
      { what: `Prometheus scraping all ${targets.length} replicas`, timeoutMs: 60_000 },
    );
    const seen = await waitFor(
      async () => {
        const s = {
          deployed: await scalar('sum(latchkey_deployments_total{outcome="deployed"})'),
          failed: await scalar('sum(latchkey_deployments_total{outcome="failed"})'),
          stale: await scalar('sum(latchkey_stale_marks_total)'),
          redeploys: await scalar('sum(latchkey_redeploys_total{trigger="redeploy"})'),
          managedRefs: await scalar('sum(latchkey_references_resolved_total{source="managed"})'),
          resolutions: await scalar('sum(latchkey_resolution_duration_seconds_count)'),
        };
        return Object.values(s).every((v) => v !== undefined) && s;
      },
      { what: 'Prometheus to hold every count', timeoutMs: 30_000 },
    );
    assert.deepEqual(seen, expected);
    // The series name their service, as the scrape saw them.
    const byService = await query('count by (service) (process_cpu_user_seconds_total)');
    assert.deepEqual(byService.map((r) => r.metric['service']).sort(), [...SERVICES].sort());
    assert.equal(await scalar('sum(latchkey_outbox_pending_rows)'), 0);
  }

  // No value and no token in any byte scraped or answered, and no key, workload or domain name as a label.
  const identity = JSON.parse(await readFile(join(sys.home, 'identity.json'), 'utf8')) as { token: string };
  await scrapeAll();
  const everything = scraped.join('\n');
  for (const secret of [...canaries, identity.token]) {
    assert.equal(findLeak(everything, secret), undefined, 'a scraped byte holds a value or a token');
  }
  for (const name of ['db_password', 'absent_key', 'app-a', 'app-b', 'broken', 'analytics']) {
    assert.ok(!everything.includes(name), `${name} became a label value`);
  }
  assert.ok(outputs.length > 0);
});
