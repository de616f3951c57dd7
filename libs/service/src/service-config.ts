import { logLevel, port, z } from '@latchkey/config';
import { IDENTITY_CONFIG, TLS_CONFIG } from '@latchkey/grpc';
import { NATS_CONFIG, natsUrlList } from '@latchkey/nats';

/** An OTLP/HTTP collector URL, or unset (an empty value counts as unset). */
const otlpUrl = (name: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim() : undefined))
    .refine((v) => v === undefined || /^https?:\/\/[^/\s]+/i.test(v), {
      message: `${name} must be the http(s) URL of an OTLP/HTTP collector (e.g. http://otel-collector:4318), or unset to export no traces`,
    });

/**
 * Trace export, by the standard OpenTelemetry variables (off when no endpoint
 * is set): OTEL_EXPORTER_OTLP_ENDPOINT (the collector's base URL, /v1/traces
 * is appended) or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL),
 * OTEL_SERVICE_NAME (default latchkey-<service>), OTEL_SDK_DISABLED=true.
 */
export const TRACING_CONFIG = {
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl('OTEL_EXPORTER_OTLP_ENDPOINT'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'),
  OTEL_SERVICE_NAME: z
    .string()
    .optional()
    .transform((v) => (v?.trim() ? v.trim() : undefined)),
  OTEL_SDK_DISABLED: z
    .string()
    .optional()
    .transform((v) => v?.trim().toLowerCase() ?? '')
    .refine((v) => ['true', 'false', ''].includes(v), { message: 'true (export no traces) or false' })
    .transform((v) => (v === 'true' ? 'true' : undefined)),
};

/**
 * The variables every service reads, spread into its zod schema beside its
 * own: who may call it (OIDC), its TLS identity, its NATS credentials, where
 * it listens (`grpcPort` its default port), the NATS URLs (comma-separated), the log
 * level and where traces go (TRACING_CONFIG).
 */
export const serviceConfig = (grpcPort: number) => ({
  ...IDENTITY_CONFIG,
  ...TLS_CONFIG,
  ...NATS_CONFIG,
  ...TRACING_CONFIG,
  LATCHKEY_SERVICE_HOST: z.string().default('127.0.0.1'),
  LATCHKEY_GRPC_PORT: port(grpcPort),
  LATCHKEY_NATS_URL: natsUrlList(),
  LATCHKEY_LOG_LEVEL: logLevel(),
  /** Prometheus `GET /metrics` on a listener of its own, on LATCHKEY_SERVICE_HOST; unset or 0: none. */
  LATCHKEY_METRICS_PORT: port(0),
  /** Insecure mode only (LATCHKEY_INSECURE=1): the services' shared tokens. */
  LATCHKEY_CREDENTIALS_FILE: z.string().optional(),
});
