/**
 * 7. Refusal timing (issue 5's "same wording and timing class"): a member of
 * another domain asks for resources of a domain that is not theirs, once
 * for ones that exist and once for ones that do not, interleaved. The
 * refusals must read the same (checked here: the scenario fails otherwise),
 * and their latencies are compared: the existing resource's p50 against the
 * missing one's, as figure and baseline.
 */
import { Readable } from 'node:stream';
import { call, openClientContext, type ClientContext } from '@latchkey/cli';
import { LatchkeyError } from '@latchkey/errors';
import type { BenchContext } from './bench-context.js';
import { vaultIntegration } from './fixture.js';
import { figure, type Figure } from './report.js';
import { elapsedMs, summarize } from './stats.js';

const TARGET = 'refusal-target';
const OUTSIDER_DOMAIN = 'refusal-outsider';
const ROUNDS = 300;
const WARMUP = 30;

interface Probe {
  rpc: string;
  /** Asks for the existing (true) or the missing (false) resource; must be refused. */
  ask(ctx: ClientContext, existing: boolean): Promise<unknown>;
}

const PROBES: Probe[] = [
  {
    rpc: 'deployer GetWorkload',
    ask: (ctx, existing) =>
      call(ctx, 'deployer', ctx.deployer().getWorkload.bind(ctx.deployer()), {
        domain: TARGET,
        name: existing ? 'present-workload' : 'absent-workload',
      }),
  },
  {
    rpc: 'catalog DeleteSecret',
    ask: (ctx, existing) =>
      call(ctx, 'catalog', ctx.catalog().deleteSecret.bind(ctx.catalog()), {
        scope: { domain: TARGET, global: false },
        key: existing ? 'present_key' : 'absent_key',
        force: false,
      }),
  },
  {
    rpc: 'catalog GetVaultIntegration',
    ask: (ctx, existing) =>
      call(ctx, 'catalog', ctx.catalog().getVaultIntegration.bind(ctx.catalog()), {
        domain: TARGET,
        integration: existing ? 'present-vault' : 'absent-vault',
      }),
  },
  {
    rpc: 'ras GetBundle',
    ask: (ctx, existing) =>
      call(ctx, 'ras', ctx.ras().getBundle.bind(ctx.ras()), {
        domain: TARGET,
        name: existing ? 'present-bundle' : 'absent-bundle',
      }),
  },
];

/** The refusal's code and message; throws when the call was not refused. */
async function refusal(p: Probe, ctx: ClientContext, existing: boolean): Promise<string> {
  try {
    await p.ask(ctx, existing);
  } catch (err) {
    if (err instanceof LatchkeyError) return `${err.code}: ${err.message}`;
    throw err;
  }
  throw new Error(`${p.rpc} of ${existing ? 'an existing' : 'a missing'} resource was allowed to an outsider`);
}

export async function refusalTiming(b: BenchContext): Promise<Figure[]> {
  const { sys } = b;
  b.log(`refusal: a member of ${OUTSIDER_DOMAIN} asks ${TARGET} for existing and missing resources`);
  await sys.cliOk(['domain', 'create', TARGET]);
  await sys.cliOk(['domain', 'create', OUTSIDER_DOMAIN]);
  await sys.cliOk(['domain', 'grant', OUTSIDER_DOMAIN, '--user', 'eve', '--role', 'member']);
  await sys.cliOk(['secret', 'put', 'present_key', '--domain', TARGET], 'refusal-bench-value');
  await sys.cliOk(['bundle', 'create', 'present-bundle', '--domain', TARGET]);
  await vaultIntegration(sys, b.vault, TARGET, 'present-vault', 'refusal', 'token', 1);
  const spec = { name: 'present-workload', kind: 'COMPUTE', envVars: { MODE: 'x' }, run: { command: ['true'] } };
  await sys.cliOk(['workload', 'apply', '--domain', TARGET, '-f', '-'], JSON.stringify(spec));
  // Eve's token, without leaving her as the CLI's identity.
  const token = (await sys.cliOk(['login', '--user', 'eve', '--print'])).trim();
  await sys.cliOk(['login', '--user', 'admin']);
  const eve = await openClientContext({
    out: () => undefined,
    err: () => undefined,
    stdin: Readable.from([]),
    env: { LATCHKEY_HOME: sys.home, LATCHKEY_TOKEN: token },
    cwd: sys.home,
  });
  const figures: Figure[] = [];
  try {
    for (const p of PROBES) {
      const [present, absent] = [await refusal(p, eve, true), await refusal(p, eve, false)];
      if (present !== absent) {
        throw new Error(`${p.rpc}: an existing resource is refused as "${present}", a missing one as "${absent}"`);
      }
      const samples: Record<'present' | 'absent', number[]> = { present: [], absent: [] };
      for (let i = 0; i < WARMUP + ROUNDS; i++) {
        // Interleaved, alternating which goes first, so drift and caches treat both alike.
        const order = i % 2 === 0 ? [true, false] : [false, true];
        for (const existing of order) {
          const start = process.hrtime.bigint();
          await refusal(p, eve, existing);
          if (i >= WARMUP) samples[existing ? 'present' : 'absent'].push(elapsedMs(start));
        }
      }
      const present50 = summarize(samples.present);
      const absent50 = summarize(samples.absent);
      figures.push(
        figure({
          id: `refusal.${p.rpc.replace(/\s+/g, '_')}`,
          scenario: '7. refusal timing',
          what: `${p.rpc} from another domain, existing resource (p50 of ${ROUNDS})`,
          unit: 'ms',
          value: present50.p50,
          baseline: { value: absent50.p50, what: 'the same refusal for a missing one' },
          goals: [
            { on: 'ratio', op: '<=', limit: 1.25 },
            { on: 'ratio', op: '>=', limit: 0.8 },
          ],
          note: `p99 ${present50.p99.toFixed(2)} ms vs ${absent50.p99.toFixed(2)} ms; refused as "${present.slice(0, 80)}"`,
        }),
      );
    }
  } finally {
    eve.close();
  }
  return figures;
}
