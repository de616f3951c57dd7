import { readFile } from 'node:fs/promises';
import type { Client } from '@grpc/grpc-js';
import { LatchkeyError } from '@latchkey/errors';
import { createClient, unary, type ClientTls } from '@latchkey/grpc/client';
import { CatalogServiceClient, DeployerServiceClient, RasServiceClient } from '@latchkey/proto';
import type { CliIo } from '../output/cli-io.js';
import { locateConnection, readConnectionFile, type ConnectionInfo } from '../local-state/connection-file.js';
import { CliError } from '../output/cli-errors.js';
import { identityFilePath, isExpired, readIdentityFile, type StoredIdentity } from '../local-state/identity-file.js';
import { resolveHome } from '../local-state/data-folder.js';

export const CALL_DEADLINE_MS = 15_000;

/**
 * How clients reach the running instance: TLS trusting only the CA named in
 * the connection file. Plaintext only when the user asks for it with
 * LATCHKEY_INSECURE=1 (with a warning on stderr), never because the file says
 * so: a file in a folder someone else prepared could otherwise make the CLI
 * send the user's token and values unencrypted to wherever it points.
 */
export async function clientTlsOf(
  connection: ConnectionInfo,
  io: Pick<CliIo, 'env' | 'err'>,
  file = 'the connection file',
): Promise<ClientTls | undefined> {
  if (io.env['LATCHKEY_INSECURE'] === '1') {
    io.err(
      'latchkey: WARNING: LATCHKEY_INSECURE=1: connecting in PLAINTEXT; your token and any value you send cross the network unencrypted (local debugging only)',
    );
    return undefined;
  }
  if (connection.insecure) {
    throw new CliError(
      `${file} says the services listen in plaintext, and the CLI never sends your token in plaintext because a file says so: if you started them yourself with latchkey up --insecure, set LATCHKEY_INSECURE=1 (local debugging only); otherwise do not use this file`,
      { code: 'cli.plaintext_refused' },
    );
  }
  if (connection.caFile === '') {
    throw new CliError(`${file} names no CA certificate: restart Latchkey (npm start) to rewrite it`, {
      code: 'cli.connection_malformed',
    });
  }
  try {
    return { ca: await readFile(connection.caFile) };
  } catch (err) {
    throw new CliError(
      `cannot read the CA certificate ${connection.caFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): restart Latchkey, or set LATCHKEY_HOME to its data folder`,
      { code: 'cli.ca_unreadable' },
    );
  }
}

/** The identity a client call carries, and where it came from. */
export interface ResolvedIdentity {
  token: string;
  source: 'LATCHKEY_TOKEN' | 'identity file';
  /** The stored identity, when the token is the identity file's. */
  stored?: StoredIdentity;
}

/**
 * LATCHKEY_TOKEN when set, else the identity stored by `latchkey login` (or
 * by `latchkey up` for the bootstrap admin) in the data folder.
 */
export async function resolveIdentity(env: NodeJS.ProcessEnv, home: string): Promise<ResolvedIdentity> {
  const fromEnv = env['LATCHKEY_TOKEN'];
  if (fromEnv !== undefined && fromEnv !== '') return { token: fromEnv, source: 'LATCHKEY_TOKEN' };
  const stored = await readIdentityFile(home);
  if (stored === undefined) {
    throw new CliError(
      `you are not logged in (no ${identityFilePath(home)}): run latchkey login --user NAME, or set LATCHKEY_TOKEN`,
      { code: 'cli.not_logged_in' },
    );
  }
  if (isExpired(stored)) {
    throw new CliError(
      `your identity (${stored.user}) expired at ${stored.expiresAt}: run latchkey login --user ${stored.user} again`,
      { code: 'cli.identity_expired' },
    );
  }
  return { token: stored.token, source: 'identity file', stored };
}

/** The client of each service a CLI verb calls. */
export interface ServiceClients {
  catalog: CatalogServiceClient;
  ras: RasServiceClient;
  deployer: DeployerServiceClient;
}

type ServiceKey = keyof ServiceClients;

/** Lazily created gRPC clients for the running instance; close() when done. */
export class ClientContext {
  private readonly clients: Client[] = [];
  private catalogClient: CatalogServiceClient | undefined;
  private rasClient: RasServiceClient | undefined;
  private deployerClient: DeployerServiceClient | undefined;

  constructor(
    readonly connection: ConnectionInfo,
    private readonly token: string,
    private readonly tls?: ClientTls,
  ) {}

  private get identity(): { token: string; tls?: ClientTls } {
    return this.tls ? { token: this.token, tls: this.tls } : { token: this.token };
  }

  private track<C extends Client>(c: C): C {
    this.clients.push(c);
    return c;
  }

  catalog(): CatalogServiceClient {
    return (this.catalogClient ??= this.track(
      createClient(CatalogServiceClient, this.connection.catalog, this.identity),
    ));
  }

  ras(): RasServiceClient {
    return (this.rasClient ??= this.track(createClient(RasServiceClient, this.connection.ras, this.identity)));
  }

  deployer(): DeployerServiceClient {
    return (this.deployerClient ??= this.track(
      createClient(DeployerServiceClient, this.connection.deployer, this.identity),
    ));
  }

  client<S extends ServiceKey>(service: S): ServiceClients[S] {
    const clients: { [K in ServiceKey]: () => ServiceClients[K] } = {
      catalog: () => this.catalog(),
      ras: () => this.ras(),
      deployer: () => this.deployer(),
    };
    return clients[service]();
  }

  close(): void {
    for (const c of this.clients) c.close();
    this.clients.length = 0;
  }
}

export async function openClientContext(io: CliIo): Promise<ClientContext> {
  const home = resolveHome(io.env, io.cwd);
  const where = locateConnection(io.env, io.cwd);
  const connection = await readConnectionFile(where);
  const tls = await clientTlsOf(connection, io, where.file);
  const { token } = await resolveIdentity(io.env, home);
  return new ClientContext(connection, token, tls);
}

/** Runs `fn` with a client context that is closed afterwards. */
export async function withClients<T>(io: CliIo, fn: (ctx: ClientContext) => Promise<T>): Promise<T> {
  const ctx = await openClientContext(io);
  try {
    return await fn(ctx);
  } finally {
    ctx.close();
  }
}

type UnaryFn<Req, Res> = Parameters<typeof unary<Req, Res>>[0];

/**
 * One unary call with the CLI's deadline. A transport failure (nothing
 * listening, deadline) is reworded to name the service and its address.
 */
export async function call<Req, Res>(
  ctx: ClientContext,
  service: ServiceKey,
  fn: UnaryFn<Req, Res>,
  req: Req,
): Promise<Res> {
  try {
    return await unary(fn, req, CALL_DEADLINE_MS);
  } catch (err) {
    if (err instanceof LatchkeyError && err.kind === 'unavailable' && err.code.startsWith('grpc.')) {
      throw new LatchkeyError(
        err.code,
        `cannot reach ${service} at ${ctx.connection[service]} (${err.message}): is Latchkey running? try latchkey status`,
        { kind: 'unavailable' },
      );
    }
    throw err;
  }
}

/** One call of a method of `service`: `invoke(ctx, 'ras', (ras) => ras.createDomain, { name })`. */
export function invoke<S extends ServiceKey, Req, Res>(
  ctx: ClientContext,
  service: S,
  method: (client: ServiceClients[S]) => UnaryFn<Req, Res>,
  req: Req,
): Promise<Res> {
  const client = ctx.client(service);
  return call(ctx, service, method(client).bind(client), req);
}

/** One call with a client context of its own, opened for it and closed after it. */
export function callOnce<S extends ServiceKey, Req, Res>(
  io: CliIo,
  service: S,
  method: (client: ServiceClients[S]) => UnaryFn<Req, Res>,
  req: Req,
): Promise<Res> {
  return withClients(io, (ctx) => invoke(ctx, service, method, req));
}

/** callOnce, answering with the request too (for lines that say what was asked). */
export async function callKeepingRequest<S extends ServiceKey, Req, Res>(
  io: CliIo,
  service: S,
  method: (client: ServiceClients[S]) => UnaryFn<Req, Res>,
  req: Req,
): Promise<{ req: Req; res: Res }> {
  return { req, res: await callOnce(io, service, method, req) };
}
