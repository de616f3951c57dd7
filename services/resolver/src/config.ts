import { NATS_CONFIG } from '@latchkey/nats';
import { loadConfig, port, required, z } from '@latchkey/config';
import { IDENTITY_CONFIG, TLS_CONFIG } from '@latchkey/grpc';

const schema = z.object({
  ...IDENTITY_CONFIG,
  ...TLS_CONFIG,
  ...NATS_CONFIG,
  LATCHKEY_SERVICE_HOST: z.string().default('127.0.0.1'),
  LATCHKEY_GRPC_PORT: port(7403),
  LATCHKEY_NATS_URL: required('LATCHKEY_NATS_URL, the NATS server URL'),
  /** Insecure mode only (LATCHKEY_INSECURE=1): the services' shared tokens. */
  LATCHKEY_CREDENTIALS_FILE: z.string().optional(),
  LATCHKEY_RAS_ADDR: required('LATCHKEY_RAS_ADDR, host:port of ras'),
  LATCHKEY_CATALOG_ADDR: required('LATCHKEY_CATALOG_ADDR, host:port of catalog'),
  LATCHKEY_SEAL_PUBLIC_KEY_FILE: required("LATCHKEY_SEAL_PUBLIC_KEY_FILE, the deployer's public sealing key (PEM)"),
  LATCHKEY_REPLICA_ID: z.string().default('resolver'),
  /**
   * audit.failClosed: 1 refuses a resolution whose audit record cannot be
   * written; 0 (the default) serves it and logs the failure.
   */
  LATCHKEY_AUDIT_FAIL_CLOSED: z
    .enum(['1', '0', 'true', 'false', ''], { error: 'use 1 (refuse unaudited reads) or 0 (serve them, logged)' })
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
});

export type ResolverConfig = z.infer<typeof schema>;
export const loadResolverConfig = (env?: Record<string, string | undefined>): ResolverConfig => loadConfig(schema, env);
