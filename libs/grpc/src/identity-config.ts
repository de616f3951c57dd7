import { required, z } from '@latchkey/config';
import type { Authenticator, Credentials } from './call-context.js';
import { routeByTokenShape, serviceTokenAuthenticator } from './call-context.js';
import { jwtAuthenticator } from './jwt-authenticator.js';

/**
 * How every service verifies its callers' bearer tokens: spread into each
 * service's config schema, so that a missing or bad variable is named at start.
 */
export const IDENTITY_CONFIG = {
  /** The OIDC issuer (`iss`) every token must come from. */
  LATCHKEY_OIDC_ISSUER: required('LATCHKEY_OIDC_ISSUER, the OIDC issuer URL tokens must come from'),
  /** The audience (`aud`) every token must be for. */
  LATCHKEY_OIDC_AUDIENCE: required('LATCHKEY_OIDC_AUDIENCE, the audience tokens must be issued for'),
  /** The issuer's keys: its jwks_uri, or a JWKS file (one of the two). */
  LATCHKEY_OIDC_JWKS_URL: z.string().optional(),
  LATCHKEY_OIDC_JWKS_FILE: z.string().optional(),
  LATCHKEY_OIDC_GROUPS_CLAIM: z.string().min(1, 'a claim name, e.g. groups').default('groups'),
  LATCHKEY_OIDC_USER_CLAIM: z.string().min(1, 'a claim name, e.g. sub').default('sub'),
};

export interface IdentityConfig {
  LATCHKEY_OIDC_ISSUER: string;
  LATCHKEY_OIDC_AUDIENCE: string;
  LATCHKEY_OIDC_JWKS_URL?: string | undefined;
  LATCHKEY_OIDC_JWKS_FILE?: string | undefined;
  LATCHKEY_OIDC_GROUPS_CLAIM: string;
  LATCHKEY_OIDC_USER_CLAIM: string;
}

/**
 * People and programs: JWTs from the configured issuer. Services: in
 * insecure mode only, the tokens of the credentials file (they are not JWTs,
 * so the two never mix); with TLS they present certificates instead.
 */
export async function identityAuthenticator(
  config: IdentityConfig,
  services?: Pick<Credentials, 'services'>,
): Promise<Authenticator> {
  const jwt = await jwtAuthenticator({
    issuer: config.LATCHKEY_OIDC_ISSUER,
    audience: config.LATCHKEY_OIDC_AUDIENCE,
    ...(config.LATCHKEY_OIDC_JWKS_URL ? { jwksUrl: config.LATCHKEY_OIDC_JWKS_URL } : {}),
    ...(config.LATCHKEY_OIDC_JWKS_FILE ? { jwksFile: config.LATCHKEY_OIDC_JWKS_FILE } : {}),
    groupsClaim: config.LATCHKEY_OIDC_GROUPS_CLAIM,
    userClaim: config.LATCHKEY_OIDC_USER_CLAIM,
  });
  if (services === undefined) return jwt;
  // Only the services' own tokens: the credentials file's admin token is no identity any more.
  return routeByTokenShape(jwt, serviceTokenAuthenticator(services.services));
}
