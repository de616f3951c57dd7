import { randomBytes } from 'node:crypto';
import type { CliResult, RunningSystem } from '../system-harness.js';
import { managedRef, sha, STAY_UP, workloadScript, writeWorkload } from '../workload-files.js';

export const CHAOS_DOMAIN = 'ops';
/** The managed secret every chaos workload takes (as T), and the Vault key (as V). */
export const MANAGED_KEY = 'token';
export const VAULT_KEY = 'db_password';
export const VAULT_MOUNT = 'secret';
export const VAULT_PATH = 'team';

/** A seeded pseudo-random source (mulberry32): the same seed replays the same choices. */
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  /** In [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** One version of a secret the driver wrote: its value's hash (the value itself stays in memory only). */
export interface WrittenVersion {
  source: 'MANAGED' | 'VAULT';
  /** The version the API answered with; undefined when the write's answer was lost (it may or may not exist). */
  version?: number;
  sha256: string;
}

/** What the driver did and what the API accepted: the checks hold the system to it. */
export interface DriverRecord {
  /** Deployments the API accepted (deploy, redeploy), by id, with their workload. */
  accepted: Map<string, { workload: string; via: string }>;
  /** Operations tried, by kind: how many the API accepted and refused. */
  operations: Record<string, { accepted: number; refused: number }>;
  written: WrittenVersion[];
  /** Every value written (for the canary scan; never stored or printed). */
  values: string[];
  /** Every CLI result (for the canary scan). */
  outputs: CliResult[];
}

export interface ChaosWorkload {
  name: string;
  /** Long-running (stays up until stopped or replaced) or a job that exits. */
  stays: boolean;
}

export const CHAOS_WORKLOADS: ChaosWorkload[] = [
  { name: 'svc-0', stays: true },
  { name: 'svc-1', stays: true },
  { name: 'job-0', stays: false },
  { name: 'job-1', stays: false },
];

/** The first output line of a chaos workload: `ran <deployment> T=<sha256 of T> V=<sha256 of V>` (`-` when missing). */
export const RAN_LINE = /^ran (\S+) T=(\S+) V=(\S+)$/;

function script(stays: boolean): string {
  return workloadScript(
    'const e=process.env,f=k=>e[k]===undefined?"-":h(e[k]);',
    "console.log('ran '+e.LATCHKEY_DEPLOYMENT_ID+' T='+f('T')+' V='+f('V'));",
    ...(stays ? [STAY_UP] : []),
  );
}

export interface VaultSide {
  url: string;
  addToken(prefixes: string[]): Promise<string>;
  putSecret(mount: string, path: string, data: Record<string, unknown>): Promise<number>;
}

/**
 * Keeps deploys, redeploys, stops and rotations (managed and Vault) going
 * on a running system through the CLI's verbs (in this process, as
 * RunningSystem.poll runs them), in `lanes` concurrent lanes, recording
 * what the API accepted.
 */
export class ChaosDriver {
  readonly record: DriverRecord = {
    accepted: new Map(),
    operations: {},
    written: [],
    values: [],
    outputs: [],
  };
  integrationId = '';
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly sys: RunningSystem,
    private readonly vault: VaultSide,
    private readonly rng: Rng,
  ) {}

  private async run(args: string[], input?: string): Promise<CliResult> {
    const r = await this.sys.poll(args, input);
    this.record.outputs.push(r);
    return r;
  }

  private async ok(args: string[], input?: string): Promise<CliResult> {
    const r = await this.run(args, input);
    if (r.code !== 0) throw new Error(`latchkey ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
    return r;
  }

  private count(kind: string, accepted: boolean): void {
    const c = (this.record.operations[kind] ??= { accepted: 0, refused: 0 });
    if (accepted) c.accepted++;
    else c.refused++;
  }

  private newValue(source: 'MANAGED' | 'VAULT'): string {
    const v = `chaos-canary-${source === 'MANAGED' ? 'm' : 'v'}-${randomBytes(12).toString('hex')}`;
    this.record.values.push(v);
    return v;
  }

  /** The domain, the managed secret, the team Vault integration and the workloads (calm: every step must work). */
  async setup(): Promise<void> {
    await this.ok(['domain', 'create', CHAOS_DOMAIN]);
    await this.ok(['bundle', 'create', 'team-vault', '--domain', CHAOS_DOMAIN]);
    if (!(await this.rotateManaged())) throw new Error('the first managed secret version was refused');
    await this.rotateVault();
    const token = await this.vault.addToken([
      `${VAULT_MOUNT}/data/${VAULT_PATH}`,
      `${VAULT_MOUNT}/metadata/${VAULT_PATH}`,
    ]);
    const created = JSON.parse(
      (
        await this.ok(
          [
            'vault',
            'create',
            '--domain',
            CHAOS_DOMAIN,
            '--name',
            'team',
            '--host',
            this.vault.url,
            '--path',
            `/v1/${VAULT_MOUNT}/data/${VAULT_PATH}`,
            '--auth',
            'token',
            '--bundle',
            'team-vault',
            '--json',
          ],
          token,
        )
      ).stdout,
    ) as { id: string };
    this.integrationId = created.id;
    for (const w of CHAOS_WORKLOADS) {
      const doc = {
        name: w.name,
        kind: 'COMPUTE',
        envVars: {
          T: managedRef(MANAGED_KEY, CHAOS_DOMAIN),
          V: { key: VAULT_KEY, source: { type: 'VAULT', id: this.integrationId } },
        },
        run: { command: [process.execPath, '-e', script(w.stays)] },
      };
      const file = await writeWorkload(this.sys.home, doc);
      await this.ok(['workload', 'apply', '-f', file, '--domain', CHAOS_DOMAIN]);
    }
  }

  /** A new version of the managed secret; true when the API answered with its version. */
  async rotateManaged(): Promise<boolean> {
    const value = this.newValue('MANAGED');
    const r = await this.run(['secret', 'put', MANAGED_KEY, '--domain', CHAOS_DOMAIN, '--json'], value);
    const version = r.code === 0 ? (JSON.parse(r.stdout) as { version?: number }).version : undefined;
    this.record.written.push({ source: 'MANAGED', sha256: sha(value), ...(version === undefined ? {} : { version }) });
    this.count('rotate-managed', version !== undefined);
    return version !== undefined;
  }

  /** A new KV version in the team's Vault (which Latchkey only watches). */
  async rotateVault(): Promise<void> {
    const value = this.newValue('VAULT');
    const version = await this.vault.putSecret(VAULT_MOUNT, `${VAULT_PATH}/${VAULT_KEY}`, { value });
    this.record.written.push({ source: 'VAULT', version, sha256: sha(value) });
    this.count('rotate-vault', true);
  }

  private accept(kind: string, ids: { id: string; workload: string }[], tried: number): void {
    for (const d of ids) this.record.accepted.set(d.id, { workload: d.workload, via: kind });
    for (let i = 0; i < tried; i++) this.count(kind, i < ids.length);
  }

  async deploy(name: string): Promise<void> {
    const r = await this.run(['deploy', name, '--domain', CHAOS_DOMAIN, '--json']);
    const id = r.code === 0 ? (JSON.parse(r.stdout) as { id?: string }).id : undefined;
    this.accept('deploy', id === undefined ? [] : [{ id, workload: name }], 1);
  }

  async redeploy(name?: string): Promise<void> {
    const kind = name === undefined ? 'redeploy-stale' : 'redeploy';
    const r = await this.run([
      'redeploy',
      ...(name === undefined ? ['--stale'] : [name]),
      '--domain',
      CHAOS_DOMAIN,
      '--json',
    ]);
    let results: { workload?: string; deployment?: { id?: string } }[] = [];
    try {
      results = (JSON.parse(r.stdout) as { results?: typeof results }).results ?? [];
    } catch {
      // refused before answering: nothing accepted
    }
    const ids = results.flatMap((x) =>
      x.deployment?.id === undefined ? [] : [{ id: x.deployment.id, workload: x.workload ?? name ?? '' }],
    );
    this.accept(kind, ids, Math.max(1, results.length));
  }

  async stop(name: string): Promise<void> {
    const r = await this.run(['stop', name, '--domain', CHAOS_DOMAIN, '--no-wait', '--json']);
    this.count('stop', r.code === 0);
  }

  /** One operation, chosen at random. */
  async step(): Promise<void> {
    const w = this.rng.pick(CHAOS_WORKLOADS);
    const roll = this.rng.next();
    if (roll < 0.35) await this.deploy(w.name);
    else if (roll < 0.5) await this.redeploy(w.name);
    else if (roll < 0.55) await this.redeploy();
    else if (roll < 0.7) await this.stop(this.rng.pick(CHAOS_WORKLOADS.filter((x) => x.stays)).name);
    else if (roll < 0.85) await this.rotateManaged();
    else await this.rotateVault();
  }

  /** Starts `lanes` loops of operations, each pausing 300-1200 ms between two. */
  start(lanes: number): void {
    this.running = true;
    for (let i = 0; i < lanes; i++) {
      this.loops.push(
        (async () => {
          while (this.running) {
            await this.step().catch((err: unknown) =>
              this.count(`error: ${(err as Error).message.split('\n')[0]}`, false),
            );
            await new Promise((r) => setTimeout(r, this.rng.int(300, 1200)));
          }
        })(),
      );
    }
  }

  /** Stops the loops, once the operations under way have their answers. */
  async halt(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }
}
