/** 2. Deploy throughput: deployments completed per second with N in flight, against a raw JetStream loop. */
import { setTimeout as delay } from 'node:timers/promises';
import type { BenchContext, DeploySetup } from './bench-context.js';
import { cpuPerUnit, cpuSnapshot } from './cpu-accounting.js';
import type { DeployTiming } from './deploy-driver.js';
import { stepsText } from './deploy-latency.js';
import { PG_STATS_SETTLE_MS, pgActivity, pgPerUnit } from './pg-activity.js';
import { figure, type Figure } from './report.js';
import { elapsedMs, summarize } from './stats.js';

export const loadWorkloads = (n: number): string[] => Array.from({ length: n }, (_, i) => `load-${i}`);

export async function deployThroughput(b: BenchContext, d: DeploySetup): Promise<Figure[]> {
  const { inFlight, throughputDeploys: total } = b.cfg;
  const names = loadWorkloads(inFlight);
  await d.ensure(names);
  b.log(`deploy throughput: ${total} deployments, ${inFlight} in flight, over ${names.length} workloads`);
  await d.deployer.sustain({ names, inFlight, total: inFlight });
  const timings: DeployTiming[] = [];
  const dbs = b.sys.databaseUrls;
  await delay(PG_STATS_SETTLE_MS);
  const pgBefore = await pgActivity(dbs);
  const cpuBefore = await cpuSnapshot(b.sys);
  const run = await d.deployer.sustain({ names, inFlight, total, onDone: (t) => timings.push(t) });
  const cpu = cpuPerUnit(cpuBefore, await cpuSnapshot(b.sys), run.done);
  // Before the baselines, which read the catalog's database themselves.
  await delay(PG_STATS_SETTLE_MS);
  const perDeployment = pgPerUnit(pgBefore, await pgActivity(dbs), run.done);
  const rate = (run.done / run.elapsedMs) * 1000;

  b.log(`deploy throughput baseline: ${run.done} raw JetStream publish+consume round trips, ${inFlight} in flight`);
  await d.bus.sustain(inFlight, inFlight);
  const floorMs = await d.bus.sustain(run.done, inFlight);
  const floorRate = (run.done / floorMs) * 1000;
  // Context for the ratio: the inherent work of a deployment (the latency
  // baseline: 20 direct reads + one bus round trip) at the same concurrency.
  let begun = 0;
  const workStart = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (begun < run.done) {
        begun++;
        await d.reads.readAll();
        await d.bus.roundTrip();
      }
    }),
  );
  const workRate = (run.done / elapsedMs(workStart)) * 1000;
  const s = summarize(timings.map((t) => t.total));
  return [
    figure({
      id: 'deploy_throughput.per_second',
      scenario: '2. deploy throughput',
      what: `deployments completed per second, ${inFlight} in flight`,
      unit: '/s',
      value: rate,
      baseline: { value: floorRate, what: 'raw JetStream publish+consume' },
      goals: [{ on: 'ratio', op: '>=', limit: 0.5 }],
      note: `${run.done} rounds of 20 direct reads + 1 bus round trip, ${inFlight} in flight: ${workRate.toFixed(0)}/s; ${run.done} deployments in ${(run.elapsedMs / 1000).toFixed(1)} s; latency under load p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms; steps under load (p50/p99 ms): ${stepsText(timings)}; CPU ms per deployment: ${cpu}; PostgreSQL per deployment: ${perDeployment}`,
    }),
  ];
}
