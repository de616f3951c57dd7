import { createClient, unary } from '@latchkey/grpc';
import { CatalogInternalClient } from '@latchkey/proto';
import type { ValueRead, ValueReadResult, ValueSource } from '../domain/ports.js';

const GLOBAL = 'global';

/** Reads values over catalog's internal gRPC read, authenticated as the resolver. */
export class CatalogValueSource implements ValueSource {
  private readonly client: CatalogInternalClient;

  constructor(address: string, token: string) {
    this.client = createClient(CatalogInternalClient, address, token);
  }

  async read(items: ValueRead[]): Promise<ValueReadResult[]> {
    const res = await unary(
      this.client.readValues.bind(this.client),
      {
        items: items.map((i) => ({
          refId: i.refId,
          key: i.key,
          scope: i.scope === GLOBAL ? { domain: '', global: true } : { domain: i.scope, global: false },
          fallbackToGlobal: i.fallbackToGlobal,
          sourceType: i.sourceType ?? 'MANAGED',
          integrationId: i.integrationId ?? '',
        })),
      },
      10_000,
    );
    return res.results.map((r): ValueReadResult =>
      r.found
        ? { refId: r.refId, found: true, scope: r.resolvedScope, version: r.version, value: Buffer.from(r.value) }
        : { refId: r.refId, found: false, code: r.errorCode, message: r.errorMessage },
    );
  }

  close(): void {
    this.client.close();
  }
}
