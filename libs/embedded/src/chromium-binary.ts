import { ensureSystemBinary, type EnsureSystemBinaryOptions, type SystemBinary } from './system-binary.js';

/** Debian's Chromium, which the web console's browser tests drive (never a downloaded browser). */
export const CHROMIUM: SystemBinary = {
  binary: 'chromium',
  aptPackage: 'chromium',
  envVar: 'LATCHKEY_CHROMIUM_BIN',
  alternative: 'or set LATCHKEY_CHROMIUM_BIN to a Chromium executable',
};

/**
 * Returns the absolute path of `chromium` (LATCHKEY_CHROMIUM_BIN, PATH,
 * /usr/bin); when missing and allowed, installs Debian's `chromium` package
 * (root on Debian/Ubuntu only), as nats-server is installed.
 */
export function ensureChromiumBinary(opts: EnsureSystemBinaryOptions = {}): Promise<string> {
  return ensureSystemBinary(CHROMIUM, opts);
}
