/** What the Vault emulator's tests share: one emulator per file and a raw HTTP call, so that assertions see the exact wire shapes. */
import { startedForTests } from '../emulator-common/test-fixture.js';
import { startVaultEmulator } from './server.js';
import type { VaultEmulator } from './types.js';

export interface Res {
  status: number;
  body: Record<string, unknown> | undefined;
}

export interface CallOptions {
  token?: string;
  namespace?: string;
  body?: unknown;
}

export async function call(emu: VaultEmulator, method: string, path: string, opts: CallOptions = {}): Promise<Res> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers['X-Vault-Token'] = opts.token;
  if (opts.namespace !== undefined) headers['X-Vault-Namespace'] = opts.namespace;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
}

export const POLICY_DENIED = '1 error occurred:\n\t* permission denied\n\n';

/** What Vault answers for a missing path, version or folder: 404 with no error messages. */
export const EMPTY_404: Res = { status: 404, body: { errors: [] } };

export interface VaultFixture {
  /** The emulator, once `before` has started it. */
  readonly emu: VaultEmulator;
  /** A raw call to the fixture's emulator. */
  call(method: string, path: string, opts?: CallOptions): Promise<Res>;
}

/** Starts an emulator (then `setup`) before the file's tests and stops it after them. */
export function useVaultEmulator(setup: (emu: VaultEmulator) => Promise<void> = async () => {}): VaultFixture {
  const emu = startedForTests('the Vault emulator', async () => {
    const started = await startVaultEmulator();
    await setup(started);
    return started;
  });
  return {
    get emu() {
      return emu();
    },
    call: (method, path, opts) => call(emu(), method, path, opts),
  };
}
