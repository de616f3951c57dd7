/** What the Vault emulator's tests share: a raw HTTP call, so that assertions see the exact wire shapes. */
import type { VaultEmulator } from './types.js';

export interface Res {
  status: number;
  body: Record<string, unknown> | undefined;
}

export async function call(
  emu: VaultEmulator,
  method: string,
  path: string,
  opts: { token?: string; namespace?: string; body?: unknown } = {},
): Promise<Res> {
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
