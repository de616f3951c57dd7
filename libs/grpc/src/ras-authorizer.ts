import { LatchkeyError } from '@latchkey/errors';
import { RasServiceClient, type CheckRequest } from '@latchkey/proto';
import { createClient, unary } from './client.js';

export interface Decision {
  allowed: boolean;
  code: string;
  reason: string;
}

export interface AuthorizationQuestion {
  principal: string;
  action: string;
  domain: string;
  resource?: string;
}

/** The port every service uses to ask ras; adapters and fakes implement it. */
export interface Authorizer {
  check(q: AuthorizationQuestion): Promise<Decision>;
  checkBatch(qs: AuthorizationQuestion[]): Promise<Decision[]>;
}

/** Turns a denial into the error a caller should see. */
export function denialError(d: Decision): LatchkeyError {
  return new LatchkeyError(d.code || 'ras.permission_denied', d.reason || 'permission denied', {
    kind: d.code === 'ras.domain_not_found' ? 'not_found' : 'permission_denied',
  });
}

export async function authorize(authorizer: Authorizer, q: AuthorizationQuestion): Promise<void> {
  const d = await authorizer.check(q);
  if (!d.allowed) throw denialError(d);
}

/** Authorizer over RasService gRPC, authenticated as the calling service. */
export class RasAuthorizer implements Authorizer {
  private readonly client: RasServiceClient;

  constructor(address: string, serviceToken: string) {
    this.client = createClient(RasServiceClient, address, serviceToken);
  }

  private static req(q: AuthorizationQuestion): CheckRequest {
    return { principal: q.principal, action: q.action, domain: q.domain, resource: q.resource ?? '' };
  }

  async check(q: AuthorizationQuestion): Promise<Decision> {
    return unary(this.client.check.bind(this.client), RasAuthorizer.req(q), 5000);
  }

  async checkBatch(qs: AuthorizationQuestion[]): Promise<Decision[]> {
    if (qs.length === 0) return [];
    const res = await unary(
      this.client.checkBatch.bind(this.client),
      { checks: qs.map((q) => RasAuthorizer.req(q)) },
      5000,
    );
    return res.results;
  }

  close(): void {
    this.client.close();
  }
}
