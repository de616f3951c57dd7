import { Metadata, type Client } from '@grpc/grpc-js';
import { createClient, unary, type ClientTls } from '@latchkey/grpc';
import { CatalogServiceClient, DeployerServiceClient, RasServiceClient } from '@latchkey/proto';
import type { Caller } from './http/caller.js';

/** How long the gateway waits for a service's answer (the CLI's deadline). */
export const UPSTREAM_DEADLINE_MS = 15_000;

/** The client of each service the gateway calls. */
export interface ServiceClients {
  catalog: CatalogServiceClient;
  deployer: DeployerServiceClient;
  ras: RasServiceClient;
}

export type ServiceKey = keyof ServiceClients;

/** A client's unary method, as `Upstream.call` takes it. */
export type UnaryFn<Req, Res> = Parameters<typeof unary<Req, Res>>[0];

/** host:port of each service. */
export type ServiceAddresses = Record<ServiceKey, string>;

/**
 * The gateway's gRPC clients of catalog, deployer and ras. Every call
 * carries the caller's own bearer token (as the CLI sends it:
 * `authorization: Bearer <jwt>`) and nothing of the gateway's: the channels
 * trust the services' CA but present no client certificate, so a call
 * through the gateway can never be taken for a service's, and ras decides
 * exactly as for the CLI.
 */
export class Upstream {
  private readonly open: Client[];

  constructor(
    private readonly clients: ServiceClients,
    private readonly deadlineMs = UPSTREAM_DEADLINE_MS,
  ) {
    this.open = [clients.catalog, clients.deployer, clients.ras];
  }

  /** One unary call of `method` of `service` as `caller`: `call(caller, 'ras', (r) => r.whoAmI, {})`. */
  call<S extends ServiceKey, Req, Res>(
    caller: Caller,
    service: S,
    method: (client: ServiceClients[S]) => UnaryFn<Req, Res>,
    req: Req,
  ): Promise<Res> {
    const client = this.clients[service];
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${caller.token}`);
    return unary(method(client).bind(client), req, this.deadlineMs, metadata);
  }

  close(): void {
    for (const c of this.open) c.close();
  }
}

/**
 * Clients of the three services at `addresses`: TLS trusting `ca` (no client
 * certificate), or plaintext when `ca` is undefined (LATCHKEY_INSECURE=1).
 */
export function connectUpstream(addresses: ServiceAddresses, ca: Buffer | undefined): Upstream {
  // Only the CA: the gateway's own certificate (if it has one that could) is never presented.
  const identity: { tls?: ClientTls } = ca === undefined ? {} : { tls: { ca } };
  return new Upstream({
    catalog: createClient(CatalogServiceClient, addresses.catalog, identity),
    deployer: createClient(DeployerServiceClient, addresses.deployer, identity),
    ras: createClient(RasServiceClient, addresses.ras, identity),
  });
}
