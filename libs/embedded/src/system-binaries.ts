import { ensureSystemBinary, type EnsureSystemBinaryOptions, type SystemBinary } from './system-binary.js';

export type EnsureNatsServerBinaryOptions = EnsureSystemBinaryOptions;

/** A program shipped by the Debian package of the same name. */
function debianNamesake(name: string, envVar: string, alternative: string): SystemBinary {
  return { binary: name, aptPackage: name, envVar, alternative };
}

/**
 * The programs Latchkey takes from the host (Debian/Ubuntu packages, never a
 * downloaded build). Each is found by its variable, then PATH, /usr/sbin,
 * /usr/bin...; when missing and allowed, its package is installed with
 * apt-get (root on Debian/Ubuntu only), serialised across processes by a lock file.
 */
export const NATS_SERVER = debianNamesake(
  'nats-server',
  'LATCHKEY_NATS_SERVER_BIN',
  'or point LATCHKEY_NATS_URL at a running NATS server',
);

/** bubblewrap's `bwrap`, which sandboxes the process runtime's workloads. */
export const BUBBLEWRAP: SystemBinary = {
  binary: 'bwrap',
  aptPackage: 'bubblewrap',
  envVar: 'LATCHKEY_BWRAP_BIN',
  alternative:
    "or set LATCHKEY_PROCESS_ISOLATION=none to run workloads unsandboxed as the deployer's own user (never with untrusted workloads)",
};

/** Debian's Chromium, which the web console's browser tests drive. */
export const CHROMIUM = debianNamesake(
  'chromium',
  'LATCHKEY_CHROMIUM_BIN',
  'or set LATCHKEY_CHROMIUM_BIN to a Chromium executable',
);

/** Debian's Prometheus server, which the metrics test runs to scrape an embedded system. */
export const PROMETHEUS = debianNamesake(
  'prometheus',
  'LATCHKEY_PROMETHEUS_BIN',
  'or set LATCHKEY_PROMETHEUS_BIN to a Prometheus server executable',
);

/** The absolute path of `nats-server`. */
export const ensureNatsServerBinary = (opts: EnsureNatsServerBinaryOptions = {}): Promise<string> =>
  ensureSystemBinary(NATS_SERVER, opts);
/** The absolute path of `bwrap`. */
export const ensureBubblewrapBinary = (opts: EnsureSystemBinaryOptions = {}): Promise<string> =>
  ensureSystemBinary(BUBBLEWRAP, opts);
/** The absolute path of `chromium`. */
export const ensureChromiumBinary = (opts: EnsureSystemBinaryOptions = {}): Promise<string> =>
  ensureSystemBinary(CHROMIUM, opts);
/** The absolute path of `prometheus`. */
export const ensurePrometheusBinary = (opts: EnsureSystemBinaryOptions = {}): Promise<string> =>
  ensureSystemBinary(PROMETHEUS, opts);
