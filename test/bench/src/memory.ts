/** 6. Memory: resolver and deployer RSS before, during (peak) and at the end of a sustained deploy load. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext, DeploySetup } from './bench-context.js';
import { loadWorkloads } from './deploy-throughput.js';
import { rssMiB } from './proc-stats.js';
import { figure, type Figure } from './report.js';

const SAMPLE_MS = 1000;
const SETTLE_MS = 10_000;

export async function memory(b: BenchContext, d: DeploySetup): Promise<Figure[]> {
  const { inFlight, memorySeconds } = b.cfg;
  const names = loadWorkloads(inFlight);
  await d.ensure(names);
  const watched = { resolver: b.sys.pids.resolver, deployer: b.sys.pids.deployer } as const;
  const sample = async () => ({
    resolver: await rssMiB(watched.resolver),
    deployer: await rssMiB(watched.deployer),
  });
  b.vault.clearRequests();
  await sleep(2000);
  const start = await sample();
  const peak = { ...start };
  b.log(`memory: ${memorySeconds} s of sustained deploys, ${inFlight} in flight; RSS sampled every ${SAMPLE_MS} ms`);
  let loading = true;
  let samples = 0;
  // The sample nearest the middle of the load: a leak keeps growing after it, a warm heap does not.
  let mid: typeof start | undefined;
  const loadStart = Date.now();
  const sampler = (async () => {
    while (loading) {
      await sleep(SAMPLE_MS);
      const s = await sample();
      samples++;
      if (mid === undefined && Date.now() - loadStart >= (memorySeconds * 1000) / 2) mid = s;
      peak.resolver = Math.max(peak.resolver, s.resolver);
      peak.deployer = Math.max(peak.deployer, s.deployer);
    }
  })();
  const run = await d.deployer.sustain({ names, inFlight, untilMs: memorySeconds * 1000 });
  loading = false;
  await sampler;
  const end = await sample();
  peak.resolver = Math.max(peak.resolver, end.resolver);
  peak.deployer = Math.max(peak.deployer, end.deployer);
  await sleep(SETTLE_MS);
  const settled = await sample();
  const mib = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(0));
  const note =
    `${run.done} deployments in ${(run.elapsedMs / 1000).toFixed(0)} s; ${samples + 3} samples; ` +
    `RSS MiB start/mid/end/${SETTLE_MS / 1000} s after: ` +
    (['resolver', 'deployer'] as const)
      .map((svc) => `${svc} ${mib(start[svc])}/${mib(mid?.[svc])}/${mib(end[svc])}/${mib(settled[svc])}`)
      .join(', ');
  return (['resolver', 'deployer'] as const).flatMap((svc) => [
    figure({
      id: `memory.${svc}.peak`,
      scenario: '6. memory',
      what: `${svc} peak RSS during the load`,
      unit: 'MiB',
      value: peak[svc],
      baseline: { value: start[svc], what: 'RSS at start' },
      goals: [],
      note,
    }),
    figure({
      id: `memory.${svc}.end`,
      scenario: '6. memory',
      what: `${svc} RSS at the end of the load`,
      unit: 'MiB',
      value: end[svc],
      baseline: { value: start[svc], what: 'RSS at start' },
      goals: [],
      note,
    }),
  ]);
}
