/** 1. Deploy latency: sequential warm deploys of a 20-reference workload, against the direct reads + one bus round trip. */
import type { BenchContext, DeploySetup } from './bench-context.js';
import type { DeployTiming } from './deploy-driver.js';
import { figure, type Figure } from './report.js';
import { elapsedMs, summarize } from './stats.js';

export const LATENCY_WORKLOAD = 'latency-0';

/** p50/p99 of when each step was reached, e.g. `rpc 3.1/9.8, deploying 5.0/12, ...`. */
export function stepsText(timings: readonly DeployTiming[]): string {
  const steps = ['rpc', 'deploying', 'resolved', 'total'] as const;
  return steps
    .map((k) => {
      const xs = timings.map((t) => t[k]).filter((x): x is number => x !== undefined);
      if (xs.length === 0) return `${k} -`;
      const s = summarize(xs);
      return `${k} ${s.p50.toFixed(1)}/${s.p99.toFixed(1)}`;
    })
    .join(', ');
}

export async function deployLatency(b: BenchContext, d: DeploySetup): Promise<Figure[]> {
  await d.ensure([LATENCY_WORKLOAD]);
  b.log(`deploy latency: ${b.cfg.warmup} warm-up + ${b.cfg.deploys} sequential deploys`);
  for (let i = 0; i < b.cfg.warmup; i++) await d.deployer.deploy(LATENCY_WORKLOAD);
  const timings: DeployTiming[] = [];
  for (let i = 0; i < b.cfg.deploys; i++) timings.push(await d.deployer.deployTimed(LATENCY_WORKLOAD));
  const system = timings.map((t) => t.total);

  b.log(`deploy latency baseline: ${d.reads.count} direct reads + one JetStream publish and consume, same count`);
  const round = async () => {
    const start = process.hrtime.bigint();
    await d.reads.readAll();
    await d.bus.roundTrip();
    return elapsedMs(start);
  };
  for (let i = 0; i < b.cfg.warmup; i++) await round();
  const floor: number[] = [];
  for (let i = 0; i < b.cfg.deploys; i++) floor.push(await round());

  const s = summarize(system);
  const f = summarize(floor);
  const what = `${d.reads.count} direct reads + 1 JetStream round trip`;
  const note =
    `${s.n} deploys; system p90 ${s.p90.toFixed(1)} ms, max ${s.max.toFixed(1)} ms; baseline p90 ${f.p90.toFixed(1)} ms; ` +
    `Vault latency ${b.cfg.vaultLatencyMs} ms; steps (p50/p99 ms since the Deploy call): ${stepsText(timings)}`;
  // The ratio to the floor each percentile may reach.
  const limits = { p50: 1.3, p99: 2 } as const;
  return (['p50', 'p99'] as const).map((p) =>
    figure({
      id: `deploy_latency.${p}`,
      scenario: '1. deploy latency',
      what: `${p}, ${s.n} sequential warm deploys, 20 refs`,
      unit: 'ms',
      value: s[p],
      baseline: { value: f[p], what },
      goals: [{ on: 'ratio', op: '<=', limit: limits[p] }],
      note,
    }),
  );
}
