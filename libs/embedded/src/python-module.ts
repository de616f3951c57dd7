import { execFile } from 'node:child_process';
import { ensureAptProvided, type EnsureSystemBinaryOptions } from './system-binary.js';

/**
 * Debian's own Python: the `python3` on PATH may be another interpreter (a
 * pyenv shim) that does not see the modules Debian's packages install.
 */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** A Python module that a Debian package ships for the system Python. */
export interface SystemPythonModule {
  /** The name to import, e.g. `kubernetes` or `hvac`. */
  module: string;
  /** The Debian package, e.g. `python3-kubernetes`. */
  aptPackage: string;
}

export const PYTHON_KUBERNETES: SystemPythonModule = { module: 'kubernetes', aptPackage: 'python3-kubernetes' };
export const PYTHON_HVAC: SystemPythonModule = { module: 'hvac', aptPackage: 'python3-hvac' };

function imports(module: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(SYSTEM_PYTHON, ['-c', `import ${module}`], { timeout: 60_000 }, (err) => resolve(err === null));
  });
}

/**
 * Returns the path of the system Python once it can import `what.module`;
 * when it cannot and installing is allowed, installs `what.aptPackage` with
 * apt-get first (root on Debian/Ubuntu only), as nats-server is installed.
 */
export function ensureSystemPythonModule(
  what: SystemPythonModule,
  opts: EnsureSystemBinaryOptions = {},
): Promise<string> {
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(what.module)) {
    throw new Error(`"${what.module}" is not a Python module name`);
  }
  return ensureAptProvided(
    {
      what: `the Python module ${what.module} (${SYSTEM_PYTHON})`,
      aptPackage: what.aptPackage,
      alternative: `for ${SYSTEM_PYTHON}`,
      locate: async () => ((await imports(what.module)) ? SYSTEM_PYTHON : undefined),
    },
    opts,
  );
}
