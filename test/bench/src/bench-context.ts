import type { NatsConnection } from 'nats';
import type { VaultEmulator } from '@latchkey/testing';
import type { BenchConfig } from './bench-config.js';
import { DeployWatcher, Deployer } from './deploy-driver.js';
import type { EmbeddedSystem } from './embedded-system.js';
import { deployFixture, type DeployFixture } from './fixture.js';
import { DirectReads, JetStreamLoop } from './floors.js';

/** What every scenario gets: the running system, the emulated Vault, a NATS connection. */
export interface BenchContext {
  cfg: BenchConfig;
  sys: EmbeddedSystem;
  vault: VaultEmulator;
  nc: NatsConnection;
  /** Progress, on stderr. */
  log(line: string): void;
}

/** The deploy fixture with its drivers and floors, made once and shared by the deploy scenarios. */
export interface DeploySetup {
  fixture: DeployFixture;
  deployer: Deployer;
  reads: DirectReads;
  bus: JetStreamLoop;
  /** Workloads applied so far. */
  applied: Set<string>;
  /** Applies the named workloads unless they already are. */
  ensure(names: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export async function deploySetup(b: BenchContext): Promise<DeploySetup> {
  const fixture = await deployFixture(b.sys, b.vault, 'bench');
  const watcher = new DeployWatcher(b.nc, fixture.domain);
  const deployer = new Deployer(await b.sys.clients(), watcher, fixture.domain);
  const reads = await DirectReads.open({
    catalogDatabaseUrl: b.sys.databaseUrls.catalog,
    vaultUrl: b.vault.url,
    domain: fixture.domain,
    managedKeys: fixture.managedKeys,
    integrations: fixture.integrations,
  });
  const bus = await JetStreamLoop.open(b.nc, 'BENCH_FLOOR');
  const applied = new Set<string>();
  return {
    fixture,
    deployer,
    reads,
    bus,
    applied,
    async ensure(names) {
      const missing = names.filter((n) => !applied.has(n));
      await fixture.apply(missing);
      for (const n of missing) applied.add(n);
    },
    async close() {
      watcher.close();
      await reads.close();
      await bus.close();
    },
  };
}
