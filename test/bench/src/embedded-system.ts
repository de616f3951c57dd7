/**
 * The real embedded system for the benchmarks: `latchkey up` in a fresh data
 * folder, driven through the CLI's own code (its verbs in-process, and its
 * client context for direct gRPC calls), so that whatever identity and
 * transport the CLI uses, the benchmarks use too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  main as cliMain,
  openClientContext,
  readConnectionFile,
  type ClientContext,
  type CliIo,
  type ConnectionInfo,
} from '@latchkey/cli';
// The test workspace's own launcher (compiled: test/dist is built before the benchmarks).
import { launchSystem, REPO } from '../../dist/system-harness.js';
import { environOf, servicePids, type ServiceName } from './proc-stats.js';

const preloadUrl = new URL('./cpu-profile-preload.js', import.meta.url).href;

export { REPO };

export interface CliOutcome {
  code: number;
  out: string;
  err: string;
}

export interface EmbeddedSystem {
  home: string;
  connection: ConnectionInfo;
  /** The `latchkey up` process. */
  launcherPid: number;
  /** The first process of each service. */
  pids: Record<ServiceName, number>;
  /** Every service process, by pid: `catalog-1`, ... */
  processNames: Map<number, string>;
  /** PostgreSQL connection strings of the services' databases, as the services got them. */
  databaseUrls: { catalog: string; deployer: string };
  /** Runs a `latchkey` verb in this process, with `input` on its standard input. */
  cli(argv: string[], input?: string): Promise<CliOutcome>;
  /** Like cli(), but throws unless it exits 0. */
  cliOk(argv: string[], input?: string): Promise<string>;
  /** The CLI's client context (identity and addresses), for direct gRPC calls; closed by stop(). */
  clients(): Promise<ClientContext>;
  stop(): Promise<void>;
}

export async function startEmbedded(opts: {
  env: Record<string, string>;
  keepHome?: boolean;
  /** Every node process of the system writes a V8 CPU profile here when it exits. */
  cpuProfileDir?: string;
}): Promise<EmbeddedSystem> {
  const home = await mkdtemp(join(tmpdir(), 'latchkey-bench-'));
  const profiling: Record<string, string> = opts.cpuProfileDir
    ? {
        // Node 20 refuses --cpu-prof in NODE_OPTIONS; the preload starts the same profiler (cpu-profile-preload.ts).
        NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import=${preloadUrl}`.trim(),
        BENCH_CPU_PROF_OUT_DIR: opts.cpuProfileDir,
      }
    : {};
  const up = await launchSystem({
    home,
    env: { LATCHKEY_REPLICAS: '1', ...profiling, ...opts.env },
    timeoutMs: 180_000,
  });
  const stopUp = async () => {
    await up.stop();
    if (!opts.keepHome) await rm(home, { recursive: true, force: true });
  };
  try {
    const connection = await readConnectionFile(home);
    const found = await servicePids(up.child.pid!);
    const pid = (s: ServiceName): number => {
      const p = found.get(s)?.[0];
      if (p === undefined) throw new Error(`no ${s} process found under latchkey up (pid ${up.child.pid})`);
      return p;
    };
    const processNames = new Map<number, string>();
    for (const [s, list] of found) list.forEach((p, i) => processNames.set(p, `${s}-${i + 1}`));
    const pids = { ras: pid('ras'), catalog: pid('catalog'), resolver: pid('resolver'), deployer: pid('deployer') };
    const dbUrl = async (s: 'catalog' | 'deployer') => {
      const url = await environOf(pids[s], 'LATCHKEY_DATABASE_URL');
      if (!url) throw new Error(`the ${s} process has no LATCHKEY_DATABASE_URL`);
      return url;
    };
    const databaseUrls = { catalog: await dbUrl('catalog'), deployer: await dbUrl('deployer') };

    const cliEnv: NodeJS.ProcessEnv = { ...process.env, LATCHKEY_HOME: home };
    delete cliEnv['LATCHKEY_TOKEN'];
    const cli = async (argv: string[], input?: string): Promise<CliOutcome> => {
      let out = '';
      let err = '';
      const io: CliIo = {
        out: (l) => (out += l + '\n'),
        err: (l) => (err += l + '\n'),
        stdin: Readable.from(input === undefined ? [] : [Buffer.from(input)]),
        env: cliEnv,
        cwd: home,
      };
      const code = await cliMain(argv, io);
      return { code, out, err };
    };
    const cliOk = async (argv: string[], input?: string): Promise<string> => {
      const r = await cli(argv, input);
      if (r.code !== 0) throw new Error(`latchkey ${argv.join(' ')} exited ${r.code}: ${r.err}${r.out}`);
      return r.out;
    };
    let ctx: Promise<ClientContext> | undefined;
    const clients = () =>
      (ctx ??= openClientContext({
        out: () => undefined,
        err: () => undefined,
        stdin: Readable.from([]),
        env: cliEnv,
        cwd: home,
      }));
    return {
      home,
      connection,
      launcherPid: up.child.pid!,
      pids,
      processNames,
      databaseUrls,
      cli,
      cliOk,
      clients,
      async stop() {
        if (ctx) (await ctx).close();
        await stopUp();
      },
    };
  } catch (err) {
    await stopUp();
    throw err;
  }
}
