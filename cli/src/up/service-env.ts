import path from 'node:path';
import { EMBEDDED_AUDIENCE, EMBEDDED_ISSUER } from '@latchkey/grpc/client';
import type { KeyMaterialPaths } from '../local-state/key-material.js';
import type { LaunchedService } from './up-config.js';

export interface ServiceEnvInput {
  service: LaunchedService;
  /** 1-based. */
  replica: number;
  port: number;
  home: string;
  natsUrl: string;
  /** LATCHKEY_NATS_REPLICAS: JetStream replicas of the streams, consumers and KV buckets (default: unset, 1). */
  natsReplicas?: number;
  keys: KeyMaterialPaths;
  /** connectionString per service database (catalog, ras, deployer). */
  databaseUrls: Partial<Record<LaunchedService, string>>;
  /** The gateway: its HTTP port (0: it picks one and reports it). */
  httpPort?: number;
  /** host:port of the first ras replica (for catalog, resolver, deployer, gateway). */
  rasAddr?: string;
  /** host:port of the first catalog replica (for the resolver and the gateway). */
  catalogAddr?: string;
  /** host:port of the first deployer replica (for the catalog and the gateway). */
  deployerAddr?: string;
  /** The gateway's base URL as workloads reach it (the deployer hands it to each as LATCHKEY_API_URL). */
  workloadApiUrl?: string;
  /** The deployer's work folder (default <home>/work; as root, in the system folder). */
  workDir?: string;
  /** Plaintext, services named by shared tokens (latchkey up --insecure): local debugging only. */
  insecure?: boolean;
  /**
   * ras: the embedded bootstrap platform admin, used when the launcher's env names
   * no admins (ras itself has no default admin: outside embedded mode it refuses to start).
   */
  bootstrapAdmin?: string;
  /** Its Prometheus listener's port (LATCHKEY_METRICS_PORT); none when absent. */
  metricsPort?: number;
}

/** Variables the launcher sets; removed from the inherited env first so that nothing stale leaks in. */
const MANAGED_VARS = [
  'LATCHKEY_SERVICE_HOST',
  'LATCHKEY_GRPC_PORT',
  'LATCHKEY_NATS_URL',
  'LATCHKEY_DATABASE_URL',
  'LATCHKEY_CREDENTIALS_FILE',
  'LATCHKEY_REPLICA_ID',
  'LATCHKEY_RAS_ADDR',
  'LATCHKEY_CATALOG_ADDR',
  'LATCHKEY_DEPLOYER_ADDR',
  'LATCHKEY_KEK_FILE',
  'LATCHKEY_SEAL_PUBLIC_KEY_FILE',
  'LATCHKEY_SEAL_PRIVATE_KEY_FILE',
  'LATCHKEY_SIGNING_KEY_FILE',
  'LATCHKEY_DEPLOYER_SIGNING_KEY_FILES',
  'LATCHKEY_WORK_DIR',
  'LATCHKEY_OIDC_ISSUER',
  'LATCHKEY_OIDC_AUDIENCE',
  'LATCHKEY_OIDC_JWKS_URL',
  'LATCHKEY_OIDC_JWKS_FILE',
  'LATCHKEY_OIDC_GROUPS_CLAIM',
  'LATCHKEY_OIDC_USER_CLAIM',
  'LATCHKEY_TLS_CERT_FILE',
  'LATCHKEY_TLS_KEY_FILE',
  'LATCHKEY_TLS_CA_FILE',
  'LATCHKEY_INSECURE',
  'LATCHKEY_NATS_CREDS_FILE',
  'LATCHKEY_NATS_CA_FILE',
  'LATCHKEY_NATS_SUBSCRIBER_SIGNER_FILE',
  'LATCHKEY_HTTP_HOST',
  'LATCHKEY_HTTP_PORT',
  'LATCHKEY_HTTP_TLS_CERT_FILE',
  'LATCHKEY_HTTP_TLS_KEY_FILE',
  'LATCHKEY_SESSION_KEY_FILE',
  'LATCHKEY_LOGIN_LINK_KEY_FILE',
  'LATCHKEY_RUNTIME_TLS_CERT_FILE',
  'LATCHKEY_RUNTIME_TLS_KEY_FILE',
  'LATCHKEY_WORKLOAD_API_URL',
  'LATCHKEY_WORKLOAD_API_CA_FILE',
  'LATCHKEY_NATS_REPLICAS',
  'LATCHKEY_METRICS_PORT',
];

/** The environment of one service process: the launcher's env plus its wiring. */
export function buildServiceEnv(base: NodeJS.ProcessEnv, input: ServiceEnvInput): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const name of MANAGED_VARS) delete env[name];
  // The admin token is the CLI's business, not the services'.
  delete env['LATCHKEY_TOKEN'];
  const { service } = input;
  Object.assign(env, {
    LATCHKEY_SERVICE_HOST: '127.0.0.1',
    LATCHKEY_GRPC_PORT: String(input.port),
    LATCHKEY_NATS_URL: input.natsUrl,
    LATCHKEY_REPLICA_ID: `${service}-${input.replica}`,
    // People's tokens come from the local issuer (latchkey login).
    LATCHKEY_OIDC_ISSUER: EMBEDDED_ISSUER,
    LATCHKEY_OIDC_AUDIENCE: EMBEDDED_AUDIENCE,
    LATCHKEY_OIDC_JWKS_FILE: input.keys.oidcJwksFile,
  });
  if (input.natsReplicas !== undefined) env['LATCHKEY_NATS_REPLICAS'] = String(input.natsReplicas);
  if (input.metricsPort !== undefined) env['LATCHKEY_METRICS_PORT'] = String(input.metricsPort);
  // Traces: the launcher's OTEL_* (endpoint, headers, batching) reach every service as they are;
  // each exports under a name of its own (the launcher's OTEL_SERVICE_NAME would name them all alike).
  env['OTEL_SERVICE_NAME'] = `latchkey-${service}`;
  const own = input.keys.tls.services[service];
  if (input.insecure === true || own === undefined) {
    env['LATCHKEY_INSECURE'] = '1';
    // The gateway's file holds only its own token: it is never a service principal to the others.
    env['LATCHKEY_CREDENTIALS_FILE'] =
      service === 'gateway' ? input.keys.gatewayCredentialsFile : input.keys.credentialsFile;
  } else {
    // Mutual TLS: its own certificate, and the CA every service's certificate comes from.
    env['LATCHKEY_TLS_CERT_FILE'] = own.certFile;
    env['LATCHKEY_TLS_KEY_FILE'] = own.keyFile;
    env['LATCHKEY_TLS_CA_FILE'] = input.keys.tls.caCertFile;
  }
  // NATS: always its own credentials and TLS (also with --insecure, which is about gRPC only).
  env['LATCHKEY_NATS_CREDS_FILE'] = input.keys.bus.creds[service];
  env['LATCHKEY_NATS_CA_FILE'] = input.keys.tls.caCertFile;
  if (service === 'ras') env['LATCHKEY_NATS_SUBSCRIBER_SIGNER_FILE'] = input.keys.bus.subscriberSignerFile;
  const databaseUrl = input.databaseUrls[service];
  if (databaseUrl !== undefined) env['LATCHKEY_DATABASE_URL'] = databaseUrl;
  if (service !== 'ras' && input.rasAddr !== undefined) env['LATCHKEY_RAS_ADDR'] = input.rasAddr;
  const callsCatalog = service === 'resolver' || service === 'gateway';
  if (callsCatalog && input.catalogAddr !== undefined) env['LATCHKEY_CATALOG_ADDR'] = input.catalogAddr;
  if (service === 'gateway') {
    if (input.deployerAddr !== undefined) env['LATCHKEY_DEPLOYER_ADDR'] = input.deployerAddr;
    env['LATCHKEY_HTTP_HOST'] = '127.0.0.1';
    env['LATCHKEY_HTTP_PORT'] = String(input.httpPort ?? 0);
    // The console: the session key all replicas share, and the key login links are sealed to.
    env['LATCHKEY_SESSION_KEY_FILE'] = input.keys.sessionKeyFile;
    env['LATCHKEY_LOGIN_LINK_KEY_FILE'] = input.keys.loginLinkPrivateKeyFile;
    // Its runtime identity, for the deployer's runtime reads only (none in insecure mode).
    const runtimeId = input.keys.tls.services['gateway-runtime'];
    if (env['LATCHKEY_INSECURE'] !== '1' && runtimeId !== undefined) {
      env['LATCHKEY_RUNTIME_TLS_CERT_FILE'] = runtimeId.certFile;
      env['LATCHKEY_RUNTIME_TLS_KEY_FILE'] = runtimeId.keyFile;
    }
  }
  if (service === 'catalog') {
    env['LATCHKEY_KEK_FILE'] = input.keys.kekFile;
    if (input.deployerAddr !== undefined) env['LATCHKEY_DEPLOYER_ADDR'] = input.deployerAddr;
  }
  if (
    service === 'ras' &&
    input.bootstrapAdmin !== undefined &&
    (env['LATCHKEY_PLATFORM_ADMINS'] ?? '').trim() === '' &&
    (env['LATCHKEY_PLATFORM_ADMIN_GROUPS'] ?? '').trim() === ''
  ) {
    env['LATCHKEY_PLATFORM_ADMINS'] = input.bootstrapAdmin;
  }
  if (service === 'resolver') {
    env['LATCHKEY_SEAL_PUBLIC_KEY_FILE'] = input.keys.sealPublicKeyFile;
    // It acts only on deploying events and plan requests signed with the deployer's key.
    env['LATCHKEY_DEPLOYER_SIGNING_KEY_FILES'] = input.keys.signingPublicKeyFile;
  }
  if (service === 'deployer') {
    env['LATCHKEY_SEAL_PRIVATE_KEY_FILE'] = input.keys.sealPrivateKeyFile;
    env['LATCHKEY_SIGNING_KEY_FILE'] = input.keys.signingPrivateKeyFile;
    env['LATCHKEY_WORK_DIR'] = input.workDir ?? path.join(input.home, 'work');
    // Workloads read their secrets through the gateway (LATCHKEY_API_URL; the CA is its LATCHKEY_TLS_CA_FILE).
    if (input.workloadApiUrl !== undefined) env['LATCHKEY_WORKLOAD_API_URL'] = input.workloadApiUrl;
  }
  // features.secretsV2: the launcher's one value (default true) for every service and replica alike.
  env['LATCHKEY_SECRETS_V2'] = (base['LATCHKEY_SECRETS_V2'] ?? '').trim() || 'true';
  return env;
}
