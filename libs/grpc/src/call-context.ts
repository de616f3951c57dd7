import type { Logger } from '@latchkey/logger';

/** Who is calling: a person (bearer token) or another Latchkey service. */
export interface Principal {
  id: string;
  kind: 'user' | 'service';
}

export interface CallContext {
  principal: Principal;
  requestId: string;
  logger: Logger;
}

/** Maps a bearer token to a principal, or undefined when the token is unknown. */
export type Authenticator = (token: string) => Principal | undefined;

/** The embedded credentials file: the bootstrap admin's token and one token per service. */
export interface Credentials {
  admin: string;
  services: Record<string, string>;
}

export function staticAuthenticator(creds: Credentials): Authenticator {
  const byToken = new Map<string, Principal>();
  byToken.set(creds.admin, { id: 'admin', kind: 'user' });
  for (const [name, token] of Object.entries(creds.services))
    byToken.set(token, { id: `service:${name}`, kind: 'service' });
  return (token) => byToken.get(token);
}
