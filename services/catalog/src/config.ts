import { loadConfig, port, required, z } from '@latchkey/config';

const schema = z.object({
  LATCHKEY_SERVICE_HOST: z.string().default('127.0.0.1'),
  LATCHKEY_GRPC_PORT: port(7402),
  LATCHKEY_NATS_URL: required('LATCHKEY_NATS_URL, the NATS server URL'),
  LATCHKEY_DATABASE_URL: required("LATCHKEY_DATABASE_URL, the catalog's PostgreSQL connection string"),
  LATCHKEY_CREDENTIALS_FILE: required('LATCHKEY_CREDENTIALS_FILE, the service credentials file'),
  LATCHKEY_RAS_ADDR: required('LATCHKEY_RAS_ADDR, host:port of ras'),
  LATCHKEY_KEK_FILE: required('LATCHKEY_KEK_FILE, the key-encryption key file'),
  LATCHKEY_MAX_VALUE_BYTES: z.coerce.number().int().positive().default(65536),
  LATCHKEY_REPLICA_ID: z.string().default('catalog'),
});

export type CatalogConfig = z.infer<typeof schema>;
export const loadCatalogConfig = (env?: Record<string, string | undefined>): CatalogConfig => loadConfig(schema, env);
