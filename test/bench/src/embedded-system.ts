/**
 * The real embedded system for the benchmarks: `latchkey up` in a fresh data
 * folder, driven through the CLI's own code (its verbs in-process, and its
 * client context for direct gRPC calls), so that whatever identity and
 * transport the CLI uses, the benchmarks use too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  main as cliMain,
  openClientContext,
  readConnectionFile,
  type ClientContext,
  type CliIo,
  type ConnectionInfo,
} from '@latchkey/cli';
import { environOf, servicePids, type ServiceName } from './proc-stats.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLI_BIN = join(REPO, 'cli/bin/latchkey.js');

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
}): Promise<EmbeddedSystem> {
  const home = await mkdtemp(join(tmpdir(), 'latchkey-bench-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LATCHKEY_HOME: home,
    LATCHKEY_NATS_PORT: '0',
    LATCHKEY_PG_PORT: '0',
    LATCHKEY_RAS_PORT: '0',
    LATCHKEY_CATALOG_PORT: '0',
    LATCHKEY_RESOLVER_PORT: '0',
    LATCHKEY_DEPLOYER_PORT: '0',
    LATCHKEY_REPLICAS: '1',
    ...opts.env,
  };
  const up: ChildProcess = spawn(process.execPath, [CLI_BIN, 'up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  up.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  up.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => up.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`latchkey up not ready after 180 s:\n${output}`)), 180_000);
    const check = () => {
      if (output.includes('Latchkey is ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    up.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`latchkey up exited before it was ready:\n${output}`));
    });
  });

  const stopUp = async () => {
    if (up.exitCode === null && up.signalCode === null) up.kill('SIGINT');
    await exited;
    if (!opts.keepHome) await rm(home, { recursive: true, force: true });
  };
  try {
    const connection = await readConnectionFile(home);
    const found = await servicePids(up.pid!);
    const pid = (s: ServiceName): number => {
      const p = found.get(s)?.[0];
      if (p === undefined) throw new Error(`no ${s} process found under latchkey up (pid ${up.pid})`);
      return p;
    };
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
      launcherPid: up.pid!,
      pids,
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
