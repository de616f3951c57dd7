import { ensureSystemBinary, type EnsureSystemBinaryOptions, type SystemBinary } from './system-binary.js';

/** Debian's Prometheus server, which the metrics test runs to scrape an embedded system (never a downloaded build). */
export const PROMETHEUS: SystemBinary = {
  binary: 'prometheus',
  aptPackage: 'prometheus',
  envVar: 'LATCHKEY_PROMETHEUS_BIN',
  alternative: 'or set LATCHKEY_PROMETHEUS_BIN to a Prometheus server executable',
};

/**
 * Returns the absolute path of `prometheus` (LATCHKEY_PROMETHEUS_BIN, PATH,
 * /usr/bin); when missing and allowed, installs Debian's `prometheus`
 * package (root on Debian/Ubuntu only), as chromium and nats-server are.
 */
export function ensurePrometheusBinary(opts: EnsureSystemBinaryOptions = {}): Promise<string> {
  return ensureSystemBinary(PROMETHEUS, opts);
}
