import { NATS_CONFIG } from '@latchkey/nats';
import { loadConfig, port, required, z } from '@latchkey/config';
import { IDENTITY_CONFIG, TLS_CONFIG } from '@latchkey/grpc';

const list = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);

const schema = z.object({
  ...IDENTITY_CONFIG,
  ...TLS_CONFIG,
  ...NATS_CONFIG,
  LATCHKEY_SERVICE_HOST: z.string().default('127.0.0.1'),
  LATCHKEY_GRPC_PORT: port(7401),
  LATCHKEY_NATS_URL: required('LATCHKEY_NATS_URL, the NATS server URL'),
  LATCHKEY_DATABASE_URL: required("LATCHKEY_DATABASE_URL, ras's PostgreSQL connection string"),
  /** Insecure mode only (LATCHKEY_INSECURE=1): the services' shared tokens. */
  LATCHKEY_CREDENTIALS_FILE: z.string().optional(),
  /** Users who are platform admins, comma-separated (embedded: the bootstrap user `admin`). */
  LATCHKEY_PLATFORM_ADMINS: list.default(['admin']),
  /** The account and signing key ras mints external event subscribers' NATS credentials with (0600). */
  LATCHKEY_NATS_SUBSCRIBER_SIGNER_FILE: z.string().optional(),
  /** Groups whose members are platform admins, comma-separated. */
  LATCHKEY_PLATFORM_ADMIN_GROUPS: list.default([]),
  LATCHKEY_REPLICA_ID: z.string().default('ras'),
  LATCHKEY_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});

export type RasConfig = z.infer<typeof schema>;
export const loadRasConfig = (env?: Record<string, string | undefined>): RasConfig => loadConfig(schema, env);
