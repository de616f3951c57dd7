import { auditFailClosed, loadConfig, required, secretsV2, z } from '@latchkey/config';
import { serviceConfig } from '@latchkey/service';

const schema = z.object({
  ...serviceConfig(7403),
  LATCHKEY_RAS_ADDR: required('LATCHKEY_RAS_ADDR, host:port of ras'),
  LATCHKEY_CATALOG_ADDR: required('LATCHKEY_CATALOG_ADDR, host:port of catalog'),
  LATCHKEY_SEAL_PUBLIC_KEY_FILE: required("LATCHKEY_SEAL_PUBLIC_KEY_FILE, the deployer's public sealing key (PEM)"),
  /**
   * The deployers' Ed25519 public signing key(s), comma-separated PEM files
   * (two while the key is rotated): deploying events and plan requests
   * signed by no key here are refused unread.
   */
  LATCHKEY_DEPLOYER_SIGNING_KEY_FILES: required(
    "LATCHKEY_DEPLOYER_SIGNING_KEY_FILES, the deployer's public signing key file(s), comma-separated (embedded mode: deployer-sign.pub in the data folder)",
  ).transform((s) =>
    s
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean),
  ),
  LATCHKEY_REPLICA_ID: z.string().default('resolver'),
  /**
   * audit.failClosed: 1 refuses a resolution whose audit record cannot be
   * written; 0 (the default) serves it and logs the failure.
   */
  LATCHKEY_AUDIT_FAIL_CLOSED: auditFailClosed(),
  /**
   * features.secretsV2: `false` reads `${secrets.KEY}` placeholders from
   * global scope only and refuses structured references. The deployer must
   * be given the same value.
   */
  LATCHKEY_SECRETS_V2: secretsV2(),
});

export type ResolverConfig = z.infer<typeof schema>;
export const loadResolverConfig = (env?: Record<string, string | undefined>): ResolverConfig => loadConfig(schema, env);
