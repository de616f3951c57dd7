import { logLevel, port, z } from '@latchkey/config';
import { IDENTITY_CONFIG, TLS_CONFIG } from '@latchkey/grpc';
import { NATS_CONFIG, natsUrlList } from '@latchkey/nats';

/**
 * The variables every service reads, spread into its zod schema beside its
 * own: who may call it (OIDC), its TLS identity, its NATS credentials, where
 * it listens (`grpcPort` its default port), the NATS URLs (comma-separated) and the log level.
 */
export const serviceConfig = (grpcPort: number) => ({
  ...IDENTITY_CONFIG,
  ...TLS_CONFIG,
  ...NATS_CONFIG,
  LATCHKEY_SERVICE_HOST: z.string().default('127.0.0.1'),
  LATCHKEY_GRPC_PORT: port(grpcPort),
  LATCHKEY_NATS_URL: natsUrlList(),
  LATCHKEY_LOG_LEVEL: logLevel(),
  /** Prometheus `GET /metrics` on a listener of its own, on LATCHKEY_SERVICE_HOST; unset or 0: none. */
  LATCHKEY_METRICS_PORT: port(0),
  /** Insecure mode only (LATCHKEY_INSECURE=1): the services' shared tokens. */
  LATCHKEY_CREDENTIALS_FILE: z.string().optional(),
});
