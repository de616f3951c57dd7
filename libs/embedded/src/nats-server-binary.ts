import { ensureSystemBinary, type EnsureSystemBinaryOptions, type SystemBinary } from './system-binary.js';

export type EnsureNatsServerBinaryOptions = EnsureSystemBinaryOptions;

export const NATS_SERVER: SystemBinary = {
  binary: 'nats-server',
  aptPackage: 'nats-server',
  envVar: 'LATCHKEY_NATS_SERVER_BIN',
  alternative: 'or point LATCHKEY_NATS_URL at a running NATS server',
};

/**
 * Returns the absolute path of `nats-server` (LATCHKEY_NATS_SERVER_BIN, PATH,
 * /usr/sbin, /usr/bin). When missing and allowed, installs it with apt-get
 * (root on Debian/Ubuntu only), serialised across processes by a lock file.
 */
export function ensureNatsServerBinary(opts: EnsureNatsServerBinaryOptions = {}): Promise<string> {
  return ensureSystemBinary(NATS_SERVER, opts);
}
