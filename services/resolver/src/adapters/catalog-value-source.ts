import { createClient, unary, type ClientIdentity } from '@latchkey/grpc';
import { CatalogInternalClient } from '@latchkey/proto';
import type { KeyPresenceResult, ValueRead, ValueReadResult, ValueSource } from '../domain/ports.js';

const GLOBAL = 'global';

const toRequest = (i: ValueRead) => ({
  refId: i.refId,
  key: i.key,
  scope: i.scope === GLOBAL ? { domain: '', global: true } : { domain: i.scope, global: false },
  fallbackToGlobal: i.fallbackToGlobal,
  sourceType: i.sourceType ?? 'MANAGED',
  integrationId: i.integrationId ?? '',
});

/** Reads values over catalog's internal gRPC read, authenticated as the resolver. */
export class CatalogValueSource implements ValueSource {
  private readonly client: CatalogInternalClient;

  constructor(address: string, token: string | ClientIdentity) {
    this.client = createClient(CatalogInternalClient, address, token);
  }

  async read(items: ValueRead[], deploymentId?: string): Promise<ValueReadResult[]> {
    const res = await unary(
      this.client.readValues.bind(this.client),
      { items: items.map(toRequest), deploymentId: deploymentId ?? '' },
      10_000,
    );
    return res.results.map((r): ValueReadResult =>
      r.found
        ? {
            refId: r.refId,
            found: true,
            scope: r.resolvedScope,
            version: r.version,
            value: Buffer.from(r.value),
            shadowedGlobal: r.shadowedGlobal,
          }
        : { refId: r.refId, found: false, code: r.errorCode, message: r.errorMessage },
    );
  }

  async findKeys(items: ValueRead[]): Promise<KeyPresenceResult[]> {
    const res = await unary(this.client.findKeys.bind(this.client), { items: items.map(toRequest) }, 10_000);
    return res.results.map((r): KeyPresenceResult =>
      r.found
        ? { refId: r.refId, found: true, scope: r.resolvedScope, version: r.version, shadowedGlobal: r.shadowedGlobal }
        : { refId: r.refId, found: false, code: r.errorCode, message: r.errorMessage },
    );
  }

  async integrationBundles(domain: string, integrationIds: string[]): Promise<Map<string, string>> {
    const res = await unary(this.client.integrationBundles.bind(this.client), { domain, integrationIds }, 10_000);
    return new Map(res.integrations.filter((i) => i.found).map((i) => [i.integrationId, i.bundle]));
  }

  close(): void {
    this.client.close();
  }
}
