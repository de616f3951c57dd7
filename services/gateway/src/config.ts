import { loadConfig, port, required, z } from '@latchkey/config';
import { serviceConfig } from '@latchkey/service';

/** The HTTP listener's default port (LATCHKEY_HTTP_PORT); 0 picks a free one. */
export const DEFAULT_HTTP_PORT = 7480;

const schema = z
  .object({
    ...serviceConfig(7405),
    LATCHKEY_RAS_ADDR: required('LATCHKEY_RAS_ADDR, host:port of ras'),
    LATCHKEY_CATALOG_ADDR: required('LATCHKEY_CATALOG_ADDR, host:port of catalog'),
    LATCHKEY_DEPLOYER_ADDR: required('LATCHKEY_DEPLOYER_ADDR, host:port of the deployer'),
    LATCHKEY_REPLICA_ID: z.string().default('gateway'),
    /** Where the HTTP API and the console listen. */
    LATCHKEY_HTTP_HOST: z.string().default('127.0.0.1'),
    LATCHKEY_HTTP_PORT: port(DEFAULT_HTTP_PORT),
    /**
     * The HTTPS certificate and key (PEM). Default: the service's own
     * certificate (LATCHKEY_TLS_CERT_FILE / _KEY_FILE), which in embedded mode
     * comes from the local CA with SANs localhost and 127.0.0.1. Plain HTTP
     * only with LATCHKEY_INSECURE=1.
     */
    LATCHKEY_HTTP_TLS_CERT_FILE: z.string().optional(),
    LATCHKEY_HTTP_TLS_KEY_FILE: z.string().optional(),
    /** The largest request body accepted, in bytes (a larger one is answered 413). */
    LATCHKEY_HTTP_BODY_LIMIT: z.coerce
      .number({ error: 'a whole number of bytes' })
      .int('a whole number of bytes')
      .min(1024, 'at least 1024 bytes')
      .max(16 * 1024 * 1024, 'at most 16 MiB')
      .default(1024 * 1024),
    /**
     * The console's session key (AES-256, `{"id","key"}` or a key ring),
     * shared by every replica. Unset: no console sessions, Bearer tokens only.
     */
    LATCHKEY_SESSION_KEY_FILE: z.string().optional(),
    /**
     * Embedded mode's login links: the X25519 private key(s) they are sealed
     * to (PKCS#8 PEM, comma-separated while one is rotated). Unset: no links.
     */
    LATCHKEY_LOGIN_LINK_KEY_FILE: z
      .string()
      .optional()
      .transform((v) =>
        v === undefined
          ? undefined
          : v
              .split(',')
              .map((f) => f.trim())
              .filter((f) => f !== ''),
      ),
    /**
     * Scaled mode's console sign-in (OIDC authorization code + PKCE against
     * LATCHKEY_OIDC_ISSUER): the client id registered at the provider, its
     * secret's file for a confidential client (none: a public client), the
     * console's public base URL (the callback is <URL>/api/v1/session/oidc/callback),
     * and the scopes asked for.
     */
    LATCHKEY_CONSOLE_OIDC_CLIENT_ID: z.string().min(1).optional(),
    LATCHKEY_CONSOLE_OIDC_CLIENT_SECRET_FILE: z.string().optional(),
    LATCHKEY_CONSOLE_URL: z
      .url({ error: 'the console’s public base URL, e.g. https://latchkey.example.com' })
      .optional(),
    LATCHKEY_CONSOLE_OIDC_SCOPES: z.string().min(1).default('openid profile email'),
  })
  .refine((c) => c.LATCHKEY_CONSOLE_OIDC_CLIENT_ID === undefined || c.LATCHKEY_CONSOLE_URL !== undefined, {
    path: ['LATCHKEY_CONSOLE_URL'],
    error:
      'LATCHKEY_CONSOLE_OIDC_CLIENT_ID needs LATCHKEY_CONSOLE_URL, the console’s public base URL (the OIDC callback is under it)',
  })
  .refine((c) => c.LATCHKEY_CONSOLE_OIDC_CLIENT_ID === undefined || c.LATCHKEY_SESSION_KEY_FILE !== undefined, {
    path: ['LATCHKEY_SESSION_KEY_FILE'],
    error:
      'LATCHKEY_CONSOLE_OIDC_CLIENT_ID needs LATCHKEY_SESSION_KEY_FILE, the session key every gateway replica shares',
  });

export type GatewayConfig = z.infer<typeof schema>;
export const loadGatewayConfig = (env?: Record<string, string | undefined>): GatewayConfig => loadConfig(schema, env);
