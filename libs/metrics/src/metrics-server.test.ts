import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '@latchkey/logger';
import { startMetricsServer } from './metrics-server.js';
import { ServiceMetrics } from './service-metrics.js';

/** A series as `name{labels}` with its labels sorted, whatever order the exposition gives them in. */
function canonical(series: string): string {
  const m = /^([^{]+)(?:\{(.*)\})?$/.exec(series);
  const labels = (m?.[2] ?? '').match(/[a-z_]+="[^"]*"/g) ?? [];
  return `${m?.[1] ?? series}{${labels.sort().join(',')}}`;
}

/** The value of one series (`name{labels}`, in any label order), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const want = canonical(series);
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    if (canonical(line.slice(0, at)) === want) return Number(line.slice(at + 1));
  }
  return undefined;
}

test('GET /metrics serves what was recorded, labelled with the service, beside the default process metrics', async (t) => {
  const metrics = new ServiceMetrics('deployer');
  let reads = 0;
  metrics.outboxLag(() => {
    reads++;
    return Promise.resolve({ pending: 3, oldestSeconds: 1.5 });
  });
  metrics.deploymentEnded('deployed');
  metrics.deploymentEnded('failed');
  metrics.deploymentEnded('deployed');
  metrics.staleMarked(2);
  metrics.staleMarked(0);
  metrics.redeployed('auto');
  metrics.decisionCache('hit');
  metrics.decisionCache('miss');
  metrics.decisionCache('hit');
  metrics.consumerRedelivered('deployer-resolved');
  metrics.referencesResolved('vault', 2);
  metrics.resolutionObserved(0.02, 'ok');
  metrics.vaultRequest({
    integration: 'i-1',
    op: 'read',
    seconds: 0.3,
    error: 'vault.auth_failed',
  });
  const server = await startMetricsServer({ metrics, host: '127.0.0.1', port: 0, logger: silentLogger });
  t.after(() => server.close());
  const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const s = (series: string) => sample(text, series);
  assert.equal(s('latchkey_deployments_total{outcome="deployed",service="deployer"}'), 2);
  assert.equal(s('latchkey_deployments_total{outcome="failed",service="deployer"}'), 1);
  assert.equal(s('latchkey_stale_marks_total{service="deployer"}'), 2);
  assert.equal(s('latchkey_redeploys_total{trigger="auto",service="deployer"}'), 1);
  assert.equal(s('latchkey_decision_cache_lookups_total{result="hit",service="deployer"}'), 2);
  assert.equal(s('latchkey_decision_cache_lookups_total{result="miss",service="deployer"}'), 1);
  assert.equal(s('latchkey_consumer_redeliveries_total{consumer="deployer-resolved",service="deployer"}'), 1);
  assert.equal(s('latchkey_references_resolved_total{source="vault",service="deployer"}'), 2);
  assert.equal(s('latchkey_resolution_duration_seconds_count{result="ok",service="deployer"}'), 1);
  assert.equal(s('latchkey_resolution_duration_seconds_bucket{le="0.025",result="ok",service="deployer"}'), 1);
  assert.equal(s('latchkey_resolution_duration_seconds_bucket{le="0.01",result="ok",service="deployer"}'), 0);
  assert.equal(
    s('latchkey_vault_request_errors_total{integration="i-1",op="read",code="vault.auth_failed",service="deployer"}'),
    1,
  );
  assert.equal(s('latchkey_vault_request_duration_seconds_count{integration="i-1",op="read",service="deployer"}'), 1);
  assert.equal(s('latchkey_outbox_pending_rows{service="deployer"}'), 3);
  assert.equal(s('latchkey_outbox_oldest_pending_seconds{service="deployer"}'), 1.5);
  assert.equal(reads, 1, 'one outbox read serves both gauges of a scrape');
  assert.ok(s('process_cpu_user_seconds_total{service="deployer"}') !== undefined, 'default process metrics');
  assert.ok(s('nodejs_heap_size_used_bytes{service="deployer"}') !== undefined);
});

test('the listener serves /metrics only: another path is 404, another method 405', async (t) => {
  const server = await startMetricsServer({
    metrics: new ServiceMetrics('ras', { defaultMetrics: false }),
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger,
  });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;
  assert.equal((await fetch(`${base}/`)).status, 404);
  assert.equal((await fetch(`${base}/metrics/../debug`)).status, 404);
  const post = await fetch(`${base}/metrics`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
});

test('a failing outbox read keeps the gauges at their last value, and the scrape still answers', async (t) => {
  const metrics = new ServiceMetrics('catalog', { defaultMetrics: false });
  let down = false;
  metrics.outboxLag(() =>
    down ? Promise.reject(new Error('database down')) : Promise.resolve({ pending: 5, oldestSeconds: 2 }),
  );
  const server = await startMetricsServer({ metrics, host: '127.0.0.1', port: 0, logger: silentLogger });
  t.after(() => server.close());
  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(res.status, 200);
    return sample(await res.text(), 'latchkey_outbox_pending_rows{service="catalog"}');
  };
  assert.equal(await scrape(), 5);
  down = true;
  assert.equal(await scrape(), 5);
});
