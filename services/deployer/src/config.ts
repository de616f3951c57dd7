import { hostname } from 'node:os';
import { loadConfig, required, secretsV2, z } from '@latchkey/config';
import { serviceConfig } from '@latchkey/service';

const schema = z.object({
  ...serviceConfig(7404),
  LATCHKEY_DATABASE_URL: required("LATCHKEY_DATABASE_URL, the deployer's PostgreSQL connection string"),
  LATCHKEY_RAS_ADDR: required('LATCHKEY_RAS_ADDR, host:port of ras'),
  LATCHKEY_SEAL_PRIVATE_KEY_FILE: required("LATCHKEY_SEAL_PRIVATE_KEY_FILE, the deployers' private sealing key (PEM)"),
  LATCHKEY_SIGNING_KEY_FILE: required(
    "LATCHKEY_SIGNING_KEY_FILE, the deployers' Ed25519 signing key (PEM; embedded mode: deployer-sign.key in the data folder)",
  ),
  LATCHKEY_WORK_DIR: required('LATCHKEY_WORK_DIR, a private folder for per-deployment files'),
  /**
   * This replica's name, unique among the deployer's replicas: what it runs
   * is recorded under it, and a replica ends as lost what is recorded under
   * its name but does not run in it. Default: deployer@<hostname> (a
   * container's or a Pod's own name, kept across restarts of that container).
   */
  LATCHKEY_REPLICA_ID: z
    .string()
    .min(1, 'a name unique among the deployer replicas, e.g. deployer-1')
    .default(() => `deployer@${hostname()}`),
  /**
   * Where workloads run: `process` (child processes), `kubernetes` (a Pod per
   * deployment in namespace <prefix><domain>) or `noop` (nothing runs; for benchmarks).
   */
  LATCHKEY_RUNTIME: z.enum(['process', 'kubernetes', 'noop']).default('process'),
  /**
   * process runtime: `sandbox` (default) runs each workload in a bubblewrap
   * sandbox (its own mount, pid, ipc and uts namespaces; only its work folder
   * writable) and, when the deployer runs as root, as its domain's own uid;
   * workloads are refused where that cannot be had. `none` runs them as plain
   * child processes of the deployer's user, and every deployment says so.
   */
  LATCHKEY_PROCESS_ISOLATION: z.enum(['sandbox', 'none']).default('sandbox'),
  /**
   * process runtime as root: the uids (gid = uid) given to domains, one each,
   * as `first-last`. Default: far above real users and the usual /etc/subuid
   * ranges (100000 + 65536 per user). No user is created for them.
   */
  LATCHKEY_SANDBOX_UID_RANGE: z
    .string()
    .default('1700000000-1700065535')
    .transform((s, ctx) => {
      const m = /^(\d+)-(\d+)$/.exec(s.trim());
      const first = Number(m?.[1]);
      const last = Number(m?.[2]);
      if (!m || first < 1000 || last < first || last > 2_147_483_646) {
        ctx.addIssue({
          code: 'custom',
          message: 'a uid range first-last with 1000 <= first <= last <= 2147483646, e.g. 1700000000-1700065535',
        });
        return z.NEVER;
      }
      return { first, last };
    }),
  /** kubernetes runtime: a kubeconfig file; absent: in-cluster service account, else ~/.kube/config. */
  LATCHKEY_KUBECONFIG: z.string().optional(),
  /** kubernetes runtime: the image of workloads that name no run.image (none: such workloads are refused). */
  LATCHKEY_K8S_DEFAULT_IMAGE: z.string().default(''),
  /** kubernetes runtime: domain D's Pods go to namespace `<prefix>D`. */
  LATCHKEY_K8S_NAMESPACE_PREFIX: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*)?$/, 'a DNS label prefix such as latchkey- (lowercase letters, digits, -)')
    .default('latchkey-'),
  /**
   * kubernetes runtime: the workload Pods' terminationGracePeriodSeconds (how
   * long a stopped workload has between SIGTERM and SIGKILL; a stopped Pod
   * stays Terminating that long). Unset: the cluster's default (30 s).
   */
  LATCHKEY_K8S_TERMINATION_GRACE_S: z.coerce.number().int().min(0).max(86_400).optional(),
  /**
   * Redeploy policy `auto`: a stale workload is redeployed once it has been
   * stale this long (a burst of rotations leads to one redeploy), and at most
   * once per this period.
   */
  LATCHKEY_REDEPLOY_COOLDOWN_S: z.coerce.number().min(0).max(86_400).default(60),
  /** How often one replica looks for stale auto workloads whose cooldown ended or whose window opened. */
  LATCHKEY_REDEPLOY_SCAN_INTERVAL_S: z.coerce.number().positive().max(86_400).default(15),
  /** How often each replica checks whether a deployment it runs was asked to stop (in case it missed the event). */
  LATCHKEY_STOP_CHECK_INTERVAL_S: z.coerce.number().positive().max(3600).default(10),
  /** Workload output: a longer line keeps its first this many bytes and ends with `… [cut: N bytes]`. */
  LATCHKEY_OUTPUT_LINE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(256, 'at least 256 (bytes of one output line)')
    .max(1024 * 1024, 'at most 1048576 (1 MiB: a page of logs must fit a gRPC message)')
    .default(8192),
  /** Workload output: a deployment keeps at most this many bytes of it; beyond, the oldest lines are dropped. */
  LATCHKEY_OUTPUT_QUOTA_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024, 'at least 65536 (64 KiB of output per deployment)')
    .max(1024 * 1024 * 1024, 'at most 1073741824 (1 GiB of output per deployment)')
    .default(8 * 1024 * 1024),
  /** Workload output older than this many days is deleted (checked hourly). */
  LATCHKEY_OUTPUT_RETENTION_DAYS: z.coerce
    .number()
    .positive('a number of days above 0, e.g. 14')
    .max(3650, 'at most 3650 days')
    .default(14),
  /**
   * Secrets from inside a workload: the gateway's base URL as workloads reach
   * it, given to each one as LATCHKEY_API_URL beside its own token
   * (LATCHKEY_WORKLOAD_TOKEN). Unset: workloads still get a token, but no URL.
   */
  LATCHKEY_WORKLOAD_API_URL: z
    .url({ protocol: /^https?$/, error: 'the gateway base URL as workloads reach it, e.g. https://127.0.0.1:7480' })
    .optional(),
  /**
   * The CA certificate (PEM) workloads trust the gateway with, handed to each
   * as a file (LATCHKEY_CA_FILE). Default: LATCHKEY_TLS_CA_FILE.
   */
  LATCHKEY_WORKLOAD_API_CA_FILE: z.string().optional(),
  /**
   * features.secretsV2: `false` refuses workloads with structured references
   * on apply, deploy and dry run (legacy `${secrets.KEY}` only). The resolver
   * must be given the same value.
   */
  LATCHKEY_SECRETS_V2: secretsV2(),
});

export type DeployerConfig = z.infer<typeof schema>;
export const loadDeployerConfig = (env?: Record<string, string | undefined>): DeployerConfig => loadConfig(schema, env);
