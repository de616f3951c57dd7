import { createClient, unary, type ClientTls } from '@latchkey/grpc';
import { DeployerInternalClient, type RuntimeSecretResponse, type RuntimeSecretsResponse } from '@latchkey/proto';

/** How long a runtime read waits for the deployer (which waits for a resolver). */
export const RUNTIME_READ_DEADLINE_MS = 15_000;

/** Which reference a runtime read names: its key, and its source when the spec references the key twice. */
export interface RuntimeReadQuery {
  key: string;
  sourceType: string;
  sourceId: string;
}

/**
 * The deployer's runtime reads (DeployerInternal.ListRuntimeSecrets and
 * ReadRuntimeSecret). The workload's token travels in the request, never
 * as the caller: the caller is the gateway's runtime identity.
 */
export interface RuntimeReads {
  list(token: string): Promise<RuntimeSecretsResponse>;
  read(token: string, q: RuntimeReadQuery): Promise<RuntimeSecretResponse>;
}

/**
 * Over mutual TLS with the gateway's runtime certificate (CN
 * gateway-runtime), on a channel of its own: no other call of the gateway
 * presents it (they carry their caller's token and no certificate).
 */
export class DeployerRuntimeReads implements RuntimeReads {
  private readonly client: DeployerInternalClient;

  constructor(address: string, tls: Required<ClientTls>) {
    this.client = createClient(DeployerInternalClient, address, { tls });
  }

  list(token: string): Promise<RuntimeSecretsResponse> {
    return unary(this.client.listRuntimeSecrets.bind(this.client), { token }, RUNTIME_READ_DEADLINE_MS);
  }

  read(token: string, q: RuntimeReadQuery): Promise<RuntimeSecretResponse> {
    return unary(this.client.readRuntimeSecret.bind(this.client), { token, ...q }, RUNTIME_READ_DEADLINE_MS);
  }

  close(): void {
    this.client.close();
  }
}
