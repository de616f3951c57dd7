/**
 * A real `hashicorp/vault` dev server through testcontainers, with the same
 * helpers as the emulator, done through Vault's own API with the root token.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { containerSkipReason } from '../emulator-common/container-runtime.js';
import { DEFAULT_TOKEN_TTL, newToken, trimSlashes } from './store.js';
import type { AddAppRoleOptions, AddTokenOptions, MountOptions, NamespaceOption, VaultTestServer } from './types.js';

/** Whether the container-backed suites can run, and if not, why (for `test(..., { skip })`). */
export async function vaultContainerAvailability(): Promise<
  { available: true } | { available: false; reason: string }
> {
  const reason = await containerSkipReason('set LATCHKEY_TEST_DOCKER=1 to run against a real Vault container');
  return reason === undefined ? { available: true } : { available: false, reason };
}

type RootCall = (method: string, path: string, body?: unknown) => Promise<Record<string, unknown> | undefined>;

function rootCaller(url: string, rootToken: string): RootCall {
  return async (method, path, body) => {
    const res = await fetch(`${url}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': rootToken, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`vault container: ${method} ${path} answered ${res.status}: ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
  };
}

const enc = (p: string) => trimSlashes(p).split('/').map(encodeURIComponent).join('/');
const noNamespaces = (o: NamespaceOption | undefined) => {
  if (o?.namespace !== undefined && o.namespace !== '') throw new Error('vault container: Vault OSS has no namespaces');
};

/**
 * Starts a real `hashicorp/vault` dev server (image overridable with
 * LATCHKEY_TEST_VAULT_IMAGE) through testcontainers and gives it the same
 * helpers as the emulator, done through Vault's own API with the root token.
 * Policies are `path "<prefix>*"` with every capability. No namespaces (OSS).
 */
export async function startVaultContainer(): Promise<VaultTestServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const rootToken = newToken();
  const image = process.env['LATCHKEY_TEST_VAULT_IMAGE'] ?? 'hashicorp/vault:1.20';
  const container = await new GenericContainer(image)
    .withEnvironment({ VAULT_DEV_ROOT_TOKEN_ID: rootToken, VAULT_DEV_LISTEN_ADDRESS: '0.0.0.0:8200' })
    .withAddedCapabilities('IPC_LOCK')
    .withExposedPorts(8200)
    .withWaitStrategy(Wait.forHttp('/v1/sys/health', 8200).forStatusCode(200))
    .start();
  const url = `http://${container.getHost()}:${container.getMappedPort(8200)}`;
  return new VaultContainer(url, rootToken, () => container.stop().then(() => undefined));
}

class VaultContainer implements VaultTestServer {
  readonly kind = 'container';
  readonly supportsNamespaces = false;
  readonly #call: RootCall;
  readonly #stop: () => Promise<void>;
  #policyCounter = 0;
  readonly #approleEnabled = new Set<string>();
  /** Mounts created as KV v1, whose secrets are written without `data/`. */
  readonly #kv1Mounts = new Set<string>();

  constructor(
    readonly url: string,
    readonly rootToken: string,
    stop: () => Promise<void>,
  ) {
    this.#call = rootCaller(url, rootToken);
    this.#stop = stop;
  }

  async #policyFor(prefixes: string[]): Promise<string> {
    this.#policyCounter += 1;
    const name = `latchkey-test-${this.#policyCounter}`;
    const policy = prefixes
      .map((p) => `path "${p}*" { capabilities = ["create", "read", "update", "delete", "list"] }`)
      .join('\n');
    await this.#call('PUT', `sys/policies/acl/${name}`, { policy: policy === '' ? '# none' : policy });
    return name;
  }

  async addToken(prefixes: string[], o: AddTokenOptions = {}): Promise<string> {
    const policy = await this.#policyFor(prefixes);
    const res = await this.#call('POST', 'auth/token/create', {
      policies: [policy],
      ttl: `${o.ttlSeconds ?? DEFAULT_TOKEN_TTL}s`,
      no_default_policy: false,
    });
    return (res?.['auth'] as { client_token: string }).client_token;
  }

  async addAppRole(roleId: string, secretId: string, prefixes: string[], o: AddAppRoleOptions = {}): Promise<void> {
    const mount = o.mount ?? 'approle';
    if (!this.#approleEnabled.has(mount)) {
      await this.#call('POST', `sys/auth/${enc(mount)}`, { type: 'approle' });
      this.#approleEnabled.add(mount);
    }
    const policy = await this.#policyFor(prefixes);
    this.#policyCounter += 1;
    const role = `auth/${enc(mount)}/role/${enc(o.roleName ?? `role-${this.#policyCounter}`)}`;
    const lease = o.leaseSeconds ?? 1200;
    await this.#call('POST', role, { token_policies: [policy], token_ttl: `${lease}s`, token_max_ttl: `${lease}s` });
    await this.#call('POST', `${role}/role-id`, { role_id: roleId });
    await this.#call('POST', `${role}/custom-secret-id`, { secret_id: secretId });
  }

  async mount(name: string, o?: MountOptions): Promise<void> {
    noNamespaces(o);
    const mounts = (await this.#call('GET', 'sys/mounts')) as Record<string, unknown>;
    const data = (mounts['data'] ?? mounts) as Record<string, unknown>;
    const version = o?.version ?? 2;
    if (version === 1) this.#kv1Mounts.add(trimSlashes(name));
    if (data[`${trimSlashes(name)}/`] === undefined) {
      await this.#call('POST', `sys/mounts/${enc(name)}`, { type: 'kv', options: { version: String(version) } });
    }
  }

  async putSecret(mount: string, path: string, data: Record<string, unknown>, o?: NamespaceOption): Promise<number> {
    noNamespaces(o);
    if (this.#kv1Mounts.has(trimSlashes(mount))) {
      await this.#call('POST', `${enc(mount)}/${enc(path)}`, data);
      return 1;
    }
    // A fresh KV v2 mount answers "upgrading" for a moment: retry briefly.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const res = await this.#call('POST', `${enc(mount)}/data/${enc(path)}`, { data });
        return (res?.['data'] as { version: number }).version;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await delay(100);
      }
    }
  }

  async deleteVersion(mount: string, path: string, version: number, o?: NamespaceOption): Promise<void> {
    noNamespaces(o);
    await this.#call('POST', `${enc(mount)}/delete/${enc(path)}`, { versions: [version] });
  }

  async destroyVersion(mount: string, path: string, version: number, o?: NamespaceOption): Promise<void> {
    noNamespaces(o);
    await this.#call('PUT', `${enc(mount)}/destroy/${enc(path)}`, { versions: [version] });
  }

  stop(): Promise<void> {
    return this.#stop();
  }
}
