/**
 * The deploy fixture of the issue: one domain, 10 managed secrets, two team
 * Vault integrations of 5 keys each (one with a token, one with AppRole, so
 * that login caching is on the path), and workloads with those 20 references.
 * Everything goes through the CLI's verbs, as a user would set it up.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VaultEmulator } from '@latchkey/testing';
import type { EmbeddedSystem } from './embedded-system.js';

export const MANAGED_KEYS = Array.from({ length: 10 }, (_, i) => `managed_${i}`);

export interface VaultIntegrationFixture {
  id: string;
  name: string;
  mount: string;
  /** The folder under the mount, e.g. `team-a`. */
  base: string;
  keys: string[];
  /** How a direct client logs in: a token, or an AppRole pair. */
  auth: { method: 'token'; token: string } | { method: 'approle'; roleId: string; secretId: string };
}

export interface DeployFixture {
  domain: string;
  managedKeys: string[];
  integrations: VaultIntegrationFixture[];
  /** The workload spec (its 20 references) under a given name. */
  spec(name: string): Record<string, unknown>;
  /** Applies workloads with these names (same references). */
  apply(names: readonly string[]): Promise<void>;
}

const value = () => `bench-${randomBytes(12).toString('hex')}`;

/** Applies a batch of workload files, a few at a time. */
export async function applyAll(sys: EmbeddedSystem, domain: string, specs: Record<string, unknown>[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < specs.length) {
        const spec = specs[next++]!;
        const file = join(sys.home, `${String(spec['name'])}.json`);
        await writeFile(file, JSON.stringify(spec));
        await sys.cliOk(['workload', 'apply', '-f', file, '--domain', domain]);
      }
    }),
  );
}

/** Creates a bundle and a read-only integration of `base` (5 keys) in the emulator. */
export async function vaultIntegration(
  sys: EmbeddedSystem,
  vault: VaultEmulator,
  domain: string,
  name: string,
  base: string,
  method: 'token' | 'approle',
  keyCount: number,
): Promise<VaultIntegrationFixture> {
  const keys = Array.from({ length: keyCount }, (_, i) => `${base.replace(/-/g, '_')}_${i}`);
  for (const k of keys) await vault.putSecret('secret', `${base}/${k}`, { value: value() });
  const prefixes = [`secret/data/${base}`, `secret/metadata/${base}`];
  let auth: VaultIntegrationFixture['auth'];
  let authArgs: string[];
  let credential: string;
  if (method === 'token') {
    const token = await vault.addToken(prefixes);
    auth = { method, token };
    authArgs = ['--auth', 'token'];
    credential = token;
  } else {
    const roleId = `role-${name}`;
    const secretId = randomBytes(16).toString('hex');
    await vault.addAppRole(roleId, secretId, prefixes, { leaseSeconds: 3600 });
    auth = { method, roleId, secretId };
    authArgs = ['--auth', 'approle', '--role-id', roleId];
    credential = secretId;
  }
  await sys.cliOk(['bundle', 'create', `${name}-bundle`, '--domain', domain]);
  const out = await sys.cliOk(
    [
      'vault',
      'create',
      '--domain',
      domain,
      '--name',
      name,
      '--host',
      vault.url,
      '--path',
      `/v1/secret/data/${base}`,
      ...authArgs,
      '--bundle',
      `${name}-bundle`,
      '--json',
    ],
    credential,
  );
  const { id } = JSON.parse(out) as { id: string };
  return { id, name, mount: 'secret', base, keys, auth };
}

export async function deployFixture(sys: EmbeddedSystem, vault: VaultEmulator, domain: string): Promise<DeployFixture> {
  await sys.cliOk(['domain', 'create', domain]);
  for (const k of MANAGED_KEYS) await sys.cliOk(['secret', 'put', k, '--domain', domain], value());
  const integrations = [
    await vaultIntegration(sys, vault, domain, 'team-a', 'team-a', 'token', 5),
    await vaultIntegration(sys, vault, domain, 'team-b', 'team-b', 'approle', 5),
  ];
  const envVars: Record<string, unknown> = {};
  MANAGED_KEYS.forEach((k, i) => (envVars[`MANAGED_${i}`] = { key: k, source: { type: 'MANAGED', id: domain } }));
  integrations.forEach((integ, n) =>
    integ.keys.forEach((k, i) => (envVars[`VAULT_${n}_${i}`] = { key: k, source: { type: 'VAULT', id: integ.id } })),
  );
  const spec = (name: string) => ({ name, kind: 'COMPUTE', envVars, run: { command: ['true'] } });
  return {
    domain,
    managedKeys: MANAGED_KEYS,
    integrations,
    spec,
    apply: (names) => applyAll(sys, domain, names.map(spec)),
  };
}

/** Seeds `count` keys into a folder of the emulator, directly (no request log, no latency). */
export async function seedVaultKeys(vault: VaultEmulator, base: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await vault.putSecret('secret', `${base}/key_${i}`, { value: `v-${i}-seeded` });
}
