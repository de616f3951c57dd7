import { LatchkeyError } from '@latchkey/errors';
import { createClient, unary, type ClientIdentity } from '@latchkey/grpc';
import { RasServiceClient } from '@latchkey/proto';
import type { Bundles } from '../domain/ports.js';

/** Bundle lookups in ras, as the catalog service. */
export class RasBundles implements Bundles {
  private readonly client: RasServiceClient;

  constructor(address: string, serviceToken: string | ClientIdentity) {
    this.client = createClient(RasServiceClient, address, serviceToken);
  }

  async exists(domain: string, name: string): Promise<boolean> {
    try {
      await unary(this.client.getBundle.bind(this.client), { domain, name }, 5000);
      return true;
    } catch (err) {
      if (err instanceof LatchkeyError && err.kind === 'not_found') return false;
      throw err;
    }
  }

  close(): void {
    this.client.close();
  }
}
