import { ensureSystemBinary, type EnsureSystemBinaryOptions, type SystemBinary } from './system-binary.js';

export const BUBBLEWRAP: SystemBinary = {
  binary: 'bwrap',
  aptPackage: 'bubblewrap',
  envVar: 'LATCHKEY_BWRAP_BIN',
  alternative:
    "or set LATCHKEY_PROCESS_ISOLATION=none to run workloads unsandboxed as the deployer's own user (never with untrusted workloads)",
};

/**
 * Returns the absolute path of bubblewrap's `bwrap` (LATCHKEY_BWRAP_BIN, PATH,
 * /usr/bin), which sandboxes the process runtime's workloads; when missing
 * and allowed, installs the `bubblewrap` package (root on Debian/Ubuntu only).
 */
export function ensureBubblewrapBinary(opts: EnsureSystemBinaryOptions = {}): Promise<string> {
  return ensureSystemBinary(BUBBLEWRAP, opts);
}
