/**
 * Deploys through the deployer's gRPC API with the CLI's client context, and
 * learns each outcome from the deployer's own `workload.deployed` /
 * `workload.failed` events (a plain NATS subscription: no polling delay in
 * the figure, and no extra load on the system).
 */
import { call, type ClientContext } from '@latchkey/cli';
import type { NatsConnection, Subscription } from 'nats';
import { elapsedMs } from './stats.js';

interface Outcome {
  status: 'deployed' | 'failed';
  at: bigint;
  reasons: string[];
  /** When this deployment's `workload.deploying` and `workload.resolved` events went by. */
  deployingAt?: bigint;
  resolvedAt?: bigint;
}

/** Milliseconds from the Deploy call to each step, as seen on the bus. */
export interface DeployTiming {
  /** The Deploy call returned. */
  rpc: number;
  /** `workload.deploying` published (by the deployer's outbox relay). */
  deploying?: number;
  /** `workload.resolved` published (by the resolver). */
  resolved?: number;
  /** `workload.deployed` published: the figure. */
  total: number;
}

export class DeployWatcher {
  private readonly subs: Subscription[];
  private readonly waiting = new Map<string, (o: Outcome) => void>();
  /** Outcomes that arrived before their deploy call returned. */
  private readonly early = new Map<string, Outcome>();
  /** Intermediate steps seen, by deployment id (dropped with the outcome). */
  private readonly steps = new Map<string, { deployingAt?: bigint; resolvedAt?: bigint }>();

  constructor(nc: NatsConnection, domain: string) {
    const step = (which: 'deployingAt' | 'resolvedAt') =>
      nc.subscribe(`latchkey.workload.${which === 'deployingAt' ? 'deploying' : 'resolved'}.${domain}`, {
        callback: (err, msg) => {
          if (err) return;
          const at = process.hrtime.bigint();
          // Only the id is read; a resolved event's values are sealed to the deployer's key.
          const { deploymentId } = msg.json<{ deploymentId: string }>();
          this.steps.set(deploymentId, { ...this.steps.get(deploymentId), [which]: at });
        },
      });
    const outcomes = (['deployed', 'failed'] as const).map((status) =>
      nc.subscribe(`latchkey.workload.${status}.${domain}`, {
        callback: (err, msg) => {
          if (err) return;
          const at = process.hrtime.bigint();
          const data = msg.json<{ deploymentId: string; reasons?: string[] }>();
          const outcome: Outcome = { status, at, reasons: data.reasons ?? [], ...this.steps.get(data.deploymentId) };
          this.steps.delete(data.deploymentId);
          const w = this.waiting.get(data.deploymentId);
          if (w) {
            this.waiting.delete(data.deploymentId);
            w(outcome);
          } else this.early.set(data.deploymentId, outcome);
        },
      }),
    );
    this.subs = [step('deployingAt'), step('resolvedAt'), ...outcomes];
  }

  outcome(deploymentId: string, timeoutMs: number): Promise<Outcome> {
    const known = this.early.get(deploymentId);
    if (known) {
      this.early.delete(deploymentId);
      return Promise.resolve(known);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(deploymentId);
        reject(new Error(`deployment ${deploymentId}: no outcome within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(deploymentId, (o) => {
        clearTimeout(timer);
        resolve(o);
      });
    });
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
  }
}

export class Deployer {
  constructor(
    private readonly ctx: ClientContext,
    private readonly watcher: DeployWatcher,
    private readonly domain: string,
  ) {}

  /** One deployment, from the Deploy call to its `deployed` event; throws when it fails. */
  async deployTimed(name: string, timeoutMs = 60_000): Promise<DeployTiming> {
    const d = this.ctx.deployer();
    const start = process.hrtime.bigint();
    const started = await call(this.ctx, 'deployer', d.deploy.bind(d), { domain: this.domain, name });
    const rpc = elapsedMs(start);
    const o = await this.watcher.outcome(started.id, timeoutMs);
    if (o.status !== 'deployed') throw new Error(`deployment ${started.id} of ${name} failed: ${o.reasons.join('; ')}`);
    const ms = (t: bigint) => Number(t - start) / 1e6;
    return {
      rpc,
      ...(o.deployingAt === undefined ? {} : { deploying: ms(o.deployingAt) }),
      ...(o.resolvedAt === undefined ? {} : { resolved: ms(o.resolvedAt) }),
      total: ms(o.at),
    };
  }

  /** One deployment, from the Deploy call to its `deployed` event, in milliseconds. */
  async deploy(name: string, timeoutMs = 60_000): Promise<number> {
    return (await this.deployTimed(name, timeoutMs)).total;
  }

  /**
   * Keeps `inFlight` deployments going (slot i redeploys `names[i % names.length]`
   * each time its previous one is done) until `total` are done or `untilMs`
   * passed. Returns how many completed and in how many milliseconds.
   */
  async sustain(opts: {
    names: readonly string[];
    inFlight: number;
    total?: number;
    untilMs?: number;
    onDone?: (timing: DeployTiming) => void;
  }): Promise<{ done: number; elapsedMs: number }> {
    const start = process.hrtime.bigint();
    let begun = 0;
    let done = 0;
    const more = () =>
      (opts.total === undefined || begun < opts.total) &&
      (opts.untilMs === undefined || elapsedMs(start) < opts.untilMs);
    await Promise.all(
      Array.from({ length: opts.inFlight }, async (_, slot) => {
        const name = opts.names[slot % opts.names.length]!;
        while (more()) {
          begun++;
          const timing = await this.deployTimed(name);
          done++;
          opts.onDone?.(timing);
        }
      }),
    );
    return { done, elapsedMs: elapsedMs(start) };
  }
}
