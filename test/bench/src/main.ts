/**
 * `npm run bench`: Latchkey's benchmark suite on the real embedded system
 * (`latchkey up` with real NATS and PostgreSQL, the no-op runtime, an
 * emulated Vault with a fixed latency). Prints a table and writes the same
 * figures as JSON, each beside a baseline measured in the same run.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { isAbsolute, join } from 'node:path';
import { connectEmbeddedBus } from '../../dist/bus-harness.js';
import pg from 'pg';
import { startVaultEmulator } from '@latchkey/testing';
import { readBenchConfig, type Scenario } from './bench-config.js';
import { deploySetup, type BenchContext, type DeploySetup } from './bench-context.js';
import { deployLatency } from './deploy-latency.js';
import { profileReport } from './cpu-profile.js';
import { deployThroughput } from './deploy-throughput.js';
import { REPO, startEmbedded } from './embedded-system.js';
import { memory } from './memory.js';
import { redeployCost } from './redeploy-cost.js';
import { formatTable, type Figure } from './report.js';
import { rotationFanout } from './rotation-fanout.js';
import { refusalTiming } from './refusal-timing.js';
import { selector } from './selector.js';

function commandOutput(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

async function machine(natsVersion: string, deployerDb: string, loadAtStart: number[]) {
  const db = new pg.Client({ connectionString: deployerDb });
  await db.connect();
  const postgres = (await db.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version;
  await db.end();
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const cpus = os.cpus();
  return {
    cores: os.availableParallelism(),
    cpuModel: cpus[0]?.model,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    /** 1/5/15-minute load averages: anything else running on the machine shows here. */
    loadAverage: { atStart: loadAtStart, atEnd: os.loadavg().map((x) => Math.round(x * 100) / 100) },
    versions: {
      latchkey: pkg.version,
      commit: commandOutput('git', ['rev-parse', '--short', 'HEAD']),
      uncommittedChanges: (commandOutput('git', ['status', '--porcelain']) ?? '') !== '',
      node: process.versions.node,
      natsServer: natsVersion,
      postgres,
    },
  };
}

/** What each scenario runs; those that deploy share one setup (made by the first of them). */
const SCENARIO_RUNS: Record<Scenario, (b: BenchContext, setup: () => Promise<DeploySetup>) => Promise<Figure[]>> = {
  latency: async (b, setup) => deployLatency(b, await setup()),
  redeploy: async (b, setup) => redeployCost(b, await setup()),
  throughput: async (b, setup) => deployThroughput(b, await setup()),
  memory: async (b, setup) => memory(b, await setup()),
  selector: (b) => selector(b),
  refusal: (b) => refusalTiming(b),
  fanout: (b) => rotationFanout(b),
};

async function run(): Promise<number> {
  const cfg = readBenchConfig(process.env);
  const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const started = Date.now();
  const loadAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const vault = await startVaultEmulator();
  vault.setLatency(cfg.vaultLatencyMs);
  log(`Vault emulator on ${vault.url}, latency ${cfg.vaultLatencyMs} ms; starting latchkey up (LATCHKEY_RUNTIME=noop)`);
  // The Vault emulator listens on 127.0.0.1, which integrations may use only when allowed.
  const sys = await startEmbedded({
    env: { LATCHKEY_RUNTIME: 'noop', LATCHKEY_VAULT_ALLOWED_HOSTS: '127.0.0.1' },
    keepHome: cfg.keepHome,
    ...(cfg.cpuProfileDir ? { cpuProfileDir: cfg.cpuProfileDir } : {}),
  });
  log(`Latchkey is ready (data: ${sys.home}); scenarios: ${cfg.scenarios.join(', ')}`);
  // The bus takes only authenticated TLS clients: an observer's credentials, as the end-to-end tests use.
  const nc = await connectEmbeddedBus(sys.home);
  const b: BenchContext = { cfg, sys, vault, nc, log };
  const figures: Figure[] = [];
  const failures: { scenario: Scenario; error: string }[] = [];
  let deploy: DeploySetup | undefined;
  const setup = async () => (deploy ??= await deploySetup(b));
  try {
    for (const scenario of cfg.scenarios) {
      try {
        figures.push(...(await SCENARIO_RUNS[scenario](b, setup)));
      } catch (err) {
        const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
        log(`scenario ${scenario} failed: ${error}`);
        failures.push({ scenario, error: err instanceof Error ? err.message : String(err) });
      }
    }
    const result = {
      at: new Date().toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      machine: await machine(nc.info?.version ?? 'unknown', sys.databaseUrls.deployer, loadAtStart),
      config: { ...cfg, runtime: 'noop' },
      figures,
      failures,
    };
    const out = isAbsolute(cfg.out) ? cfg.out : join(REPO, cfg.out);
    await writeFile(out, JSON.stringify(result, null, 2) + '\n');
    const m = result.machine;
    console.log(
      `\nLatchkey benchmarks — ${m.cores} cores (${m.cpuModel ?? '?'}), node ${m.versions.node}, ` +
        `nats-server ${m.versions.natsServer}, PostgreSQL ${m.versions.postgres}, Vault emulator latency ${cfg.vaultLatencyMs} ms, ` +
        `commit ${m.versions.commit ?? '?'}${m.versions.uncommittedChanges ? ' + uncommitted changes' : ''}; ` +
        `load average ${m.loadAverage.atStart[0]} at start, ${m.loadAverage.atEnd[0]} at end\n`,
    );
    // In the order (the run order puts the long scenarios last).
    figures.sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }));
    for (const line of formatTable(figures)) console.log(line);
    const notes = figures.filter((f) => f.note !== undefined);
    if (notes.length > 0) {
      console.log('');
      for (const f of notes) console.log(`- ${f.id}: ${f.note}`);
    }
    for (const f of failures) console.log(`\nscenario ${f.scenario} FAILED: ${f.error}`);
    console.log(`\n${figures.length} figures in ${result.durationS} s; written to ${out}`);
    return failures.length > 0 ? 1 : 0;
  } finally {
    await deploy?.close().catch(() => undefined);
    await nc.close();
    await sys.stop();
    await vault.stop();
    // The services wrote their profiles as they exited (stop() waited for that).
    if (cfg.cpuProfileDir) {
      console.log(`\nCPU profiles (${cfg.cpuProfileDir}), self time:`);
      for (const line of await profileReport(cfg.cpuProfileDir, sys.processNames)) console.log(line);
    }
  }
}

process.exitCode = await run();
