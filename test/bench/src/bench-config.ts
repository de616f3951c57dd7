/** The benchmark's knobs, from the environment; the defaults are the figures. */
import { resolve } from 'node:path';

export const SCENARIOS = ['latency', 'redeploy', 'throughput', 'memory', 'selector', 'refusal', 'fanout'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchConfig {
  /** BENCH_ONLY=latency,fanout: run only these scenarios (default: all). */
  scenarios: Scenario[];
  /** BENCH_VAULT_LATENCY_MS: the emulated Vault's delay before every answer. */
  vaultLatencyMs: number;
  /** BENCH_DEPLOYS: sequential deploys measured for latency. */
  deploys: number;
  /** BENCH_WARMUP: deploys (and baseline rounds) made before measuring. */
  warmup: number;
  /** BENCH_REDEPLOYS: warm redeploys whose backend reads are counted. */
  redeploys: number;
  /** BENCH_THROUGHPUT_DEPLOYS: deployments completed for the throughput figure. */
  throughputDeploys: number;
  /** BENCH_IN_FLIGHT: deployments kept in flight for throughput and memory. */
  inFlight: number;
  /** BENCH_MEMORY_SECONDS: how long the sustained load of the memory figure lasts. */
  memorySeconds: number;
  /** BENCH_SELECTOR_MANAGED / BENCH_SELECTOR_VAULT: keys in the selector's domain, and in each of its 2 integrations. */
  selectorManaged: number;
  selectorVaultKeys: number;
  /** BENCH_FANOUT=1000,10000,100000: dependents of the rotated secret, one round each. */
  fanout: number[];
  /** BENCH_OUT: where the JSON goes (relative to the repository). */
  out: string;
  /** BENCH_KEEP_HOME=1: keep the data folder (logs, database) after the run. */
  keepHome: boolean;
  /** BENCH_CPU_PROF=<folder>: V8 CPU profiles of every service, written there and summarised after the run. */
  cpuProfileDir?: string;
}

function int(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${name} must be a whole number >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

export function readBenchConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const only = env['BENCH_ONLY'];
  let scenarios: Scenario[] = [...SCENARIOS];
  if (only !== undefined && only !== '') {
    const asked = only.split(',').map((s) => s.trim());
    const unknown = asked.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
    if (unknown.length > 0)
      throw new Error(`BENCH_ONLY: unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
    scenarios = SCENARIOS.filter((s) => asked.includes(s));
  }
  const fanoutRaw = env['BENCH_FANOUT'];
  const fanout =
    fanoutRaw === undefined || fanoutRaw === ''
      ? [1_000, 10_000, 100_000]
      : fanoutRaw.split(',').map((s) => {
          const n = Number(s.trim());
          if (!Number.isInteger(n) || n < 1)
            throw new Error(`BENCH_FANOUT: ${JSON.stringify(s)} is not a positive whole number`);
          return n;
        });
  return {
    scenarios,
    vaultLatencyMs: int(env, 'BENCH_VAULT_LATENCY_MS', 2, 0),
    deploys: int(env, 'BENCH_DEPLOYS', 200, 1),
    warmup: int(env, 'BENCH_WARMUP', 20, 0),
    redeploys: int(env, 'BENCH_REDEPLOYS', 20, 1),
    throughputDeploys: int(env, 'BENCH_THROUGHPUT_DEPLOYS', 1000, 1),
    inFlight: int(env, 'BENCH_IN_FLIGHT', 64, 1),
    memorySeconds: int(env, 'BENCH_MEMORY_SECONDS', 120, 1),
    selectorManaged: int(env, 'BENCH_SELECTOR_MANAGED', 10_000, 0),
    selectorVaultKeys: int(env, 'BENCH_SELECTOR_VAULT', 5_000, 0),
    fanout: [...fanout].sort((a, b) => a - b),
    out: env['BENCH_OUT'] || 'bench-results.json',
    keepHome: env['BENCH_KEEP_HOME'] === '1',
    ...(env['BENCH_CPU_PROF'] ? { cpuProfileDir: resolve(env['BENCH_CPU_PROF']) } : {}),
  };
}
