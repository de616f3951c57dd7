import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach } from 'node:test';
import { Server, status, type sendUnaryData } from '@grpc/grpc-js';
import { FAKE_SERVICE_DEFINITIONS, fail, fakeService, type FakeHandlers } from '@latchkey/testing';
import { writeConnectionFile } from '../local-state/connection-file.js';
import { generateCredentials, type CredentialsFile } from '../local-state/credentials-file.js';
import { writeIdentityFile } from '../local-state/identity-file.js';
import { main } from '../main.js';
import { fakeIo, type FakeIo } from './fake-io.js';
import { fakeServerTls } from './fake-server-tls.js';

export { fail, type FakeHandlers } from '@latchkey/testing';

/**
 * Writes the files a CLI client reads in `home`: the connection file naming
 * `address` for every service and `caFile` as the CA, the credentials file,
 * and (unless `identity` is false) the admin's identity as latchkey login
 * stores it.
 */
export async function writeClientFiles(
  home: string,
  opts: { address: string; caFile: string; creds: CredentialsFile; identity?: boolean; pid?: number },
): Promise<void> {
  const credentialsFile = path.join(home, 'credentials.json');
  await writeFile(credentialsFile, JSON.stringify(opts.creds));
  if (opts.identity !== false) {
    await writeIdentityFile(home, {
      user: 'admin',
      groups: [],
      token: opts.creds.admin,
      expiresAt: '2999-01-01T00:00:00.000Z',
    });
  }
  await writeConnectionFile(home, {
    catalog: opts.address,
    ras: opts.address,
    resolver: opts.address,
    deployer: opts.address,
    credentialsFile,
    natsUrl: '',
    caFile: opts.caFile,
    insecure: false,
    pid: opts.pid ?? process.pid,
  });
}

/**
 * Fake catalog, ras and deployer for one test file, on one TLS port that a
 * data folder's connection file names: every request is recorded by method
 * name (and forgotten before each test).
 */
export class FakeServices {
  /** The data folder the CLI is pointed at (LATCHKEY_HOME). */
  home = '';
  readonly creds = generateCredentials();
  /** Every request received, by method name. */
  readonly seen = new Map<string, unknown[]>();
  private server: Server | undefined;

  async start(handlers: FakeHandlers, opts: { identity?: boolean } = {}): Promise<void> {
    this.home = await mkdtemp(path.join(tmpdir(), 'latchkey-cli-fake-'));
    const server = new Server();
    this.server = server;
    for (const service of ['catalog', 'ras', 'deployer'] as const) {
      const record = (method: string, call: { request: unknown }) =>
        this.seen.set(method, [...(this.seen.get(method) ?? []), call.request]);
      server.addService(
        FAKE_SERVICE_DEFINITIONS[service],
        fakeService(service, () => handlers, record),
      );
    }
    // The fake services speak TLS with a certificate of their own CA, which the connection file names.
    const tls = await fakeServerTls(this.home);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', tls.credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    await writeClientFiles(this.home, {
      address: `127.0.0.1:${port}`,
      caFile: tls.caFile,
      creds: this.creds,
      ...(opts.identity === undefined ? {} : { identity: opts.identity }),
    });
  }

  stop(): void {
    this.server?.forceShutdown();
  }

  /** The last request `method` received (asserts there was one). */
  last<T>(method: string): T {
    const all = this.seen.get(method) ?? [];
    assert.ok(all.length > 0, `${method} was not called`);
    return all.at(-1) as T;
  }

  /** How many requests `method` received. */
  calls(method: string): number {
    return this.seen.get(method)?.length ?? 0;
  }

  /** A CliIo pointed at the data folder. */
  io(opts: { stdin?: string | Buffer; tty?: boolean; env?: NodeJS.ProcessEnv } = {}): FakeIo {
    return fakeIo({ ...opts, env: { LATCHKEY_HOME: this.home, ...opts.env } });
  }

  /** Runs the command line; asserts the exit code; returns what it printed. */
  async run(
    argv: string[],
    exitCode: number,
    opts: { stdin?: string | Buffer; tty?: boolean; env?: NodeJS.ProcessEnv } = {},
  ): Promise<FakeIo> {
    const out = this.io(opts);
    assert.equal(await main(argv, out), exitCode, `${argv.join(' ')}: ${out.stderrLines.join('\n')}`);
    return out;
  }
}

/**
 * Fake services for the tests of this file: started before them, stopped
 * after them, with the requests forgotten before each test.
 */
export function useFakeServices(handlers: FakeHandlers, opts: { identity?: boolean } = {}): FakeServices {
  const fake = new FakeServices();
  before(() => fake.start(handlers, opts));
  after(() => fake.stop());
  beforeEach(() => fake.seen.clear());
  return fake;
}

/** Anything about domain `finance` is refused, as ras refuses a caller with no role there; true when refused. */
export function refusedFinance<T>(domain: string, cb: sendUnaryData<T>): boolean {
  if (domain !== 'finance') return false;
  fail(
    cb,
    status.PERMISSION_DENIED,
    'ras.permission_denied',
    'admin may not grant.manage in domain finance: admin holds no role there',
  );
  return true;
}

/** When and by whom a fake grant was given (the time the fakes give every record). */
export const FAKE_TIME = '2025-01-01T00:00:00Z';
export const grantedBy = (by: string) => ({ grantedAt: FAKE_TIME, grantedBy: by });
