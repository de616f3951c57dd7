/**
 * A Vault integration whose path is a dynamic-secrets path,
 * `/v1/<mount>/creds/<role>` (the database secrets engine): each read issues
 * new credentials (`username`, `password`) under a lease of their own. Such a
 * source is read only for a deployment (the domain leases the credentials to
 * it, see vault-lease-issue.ts): a read without one answers
 * `vault.dynamic_needs_deployment`. Listing names the two fields without any
 * request (a read would issue credentials), and there are no versions to watch.
 */
import { LatchkeyError } from '@latchkey/errors';
import type {
  DynamicVaultSource,
  LeasedCredentials,
  VaultKeyResult,
  VaultSource,
  VaultTestOutcome,
} from '../domain/vault/vault-integration-types.js';
import { testVaultConnection } from './vault-connection-check.js';
import { readOnlyVaultClient, type VaultHttpClientOptions, type VaultReadOnlyClient } from './vault-http-client.js';

/** The fields a database secrets engine's credentials have. */
export const CREDENTIAL_FIELDS = ['password', 'username'] as const;

export interface CredsLocation {
  mount: string;
  role: string;
}

const ROLE = /^[A-Za-z0-9_.-]+$/;

/**
 * `/v1/<mount>/creds/<role>` (the leading `/v1/` and slashes optional), or
 * undefined when the path has another shape. A path with a `data` segment is
 * a KV v2 path, whatever follows it.
 */
export function parseCredsPath(path: string): CredsLocation | undefined {
  const segments = path.split('/').filter((s) => s !== '');
  if (segments[0] === 'v1') segments.shift();
  if (segments.includes('data') || segments.length < 3 || segments[segments.length - 2] !== 'creds') return undefined;
  const role = segments[segments.length - 1] as string;
  const mount = segments.slice(0, -2);
  if (!ROLE.test(role) || role === '.' || role === '..' || mount.some((s) => s === '.' || s === '..')) return undefined;
  return { mount: mount.join('/'), role };
}

export class DynamicCredsSource implements VaultSource, DynamicVaultSource {
  readonly credsPath: string;
  readonly #client: VaultReadOnlyClient;
  readonly #loc: CredsLocation;

  static create(opts: VaultHttpClientOptions & { path: string }): DynamicCredsSource {
    const { path, ...clientOpts } = opts;
    const loc = parseCredsPath(path);
    if (loc === undefined) {
      throw new LatchkeyError(
        'vault.invalid_path',
        `"${path}" is not a dynamic-secrets path like /v1/database/creds/<role>`,
        {
          kind: 'invalid_argument',
        },
      );
    }
    return new DynamicCredsSource(readOnlyVaultClient(clientOpts), loc);
  }

  constructor(client: VaultReadOnlyClient, loc: CredsLocation) {
    this.#client = client;
    this.#loc = loc;
    this.credsPath = `${loc.mount}/creds/${loc.role}`;
  }

  get dynamic(): DynamicVaultSource {
    return this;
  }

  listKeys(): Promise<string[]> {
    return Promise.resolve([...CREDENTIAL_FIELDS]);
  }

  read(keys: string[]): Promise<Map<string, VaultKeyResult>> {
    const error = new LatchkeyError(
      'vault.dynamic_needs_deployment',
      `Vault integration ${this.#client.label}: ${this.credsPath} issues new credentials for each deployment, ` +
        'under a lease of that deployment; they are not read outside a deployment (a dry run, a connection test or a runtime read)',
      { kind: 'failed_precondition' },
    );
    return Promise.resolve(new Map(keys.map((k) => [k, { error }])));
  }

  /** Dynamic credentials have no versions: nothing for the version watch. */
  currentVersions(): Promise<Map<string, number>> {
    return Promise.resolve(new Map());
  }

  async issue(): Promise<LeasedCredentials> {
    const s = await this.#client.readLeased(this.#loc.mount, this.#loc.role);
    return {
      leaseId: s.leaseId,
      leaseSeconds: s.leaseSeconds,
      renewable: s.renewable,
      fields: new Map(Object.entries(s.fields)),
    };
  }

  renew(leaseId: string, incrementSeconds: number): Promise<{ leaseSeconds: number; renewable: boolean }> {
    return this.#client.renewLease(leaseId, incrementSeconds);
  }

  revoke(leaseId: string): Promise<void> {
    return this.#client.revokeLease(leaseId);
  }

  /** Looks up the token (AppRole logs in first), then checks that the mount is a database secrets engine; issues nothing. */
  test(): Promise<VaultTestOutcome> {
    return testVaultConnection(this.#client, async () => {
      const type = await this.#client.mountType(this.#loc.mount);
      if (type === 'database') return { outcome: 'ok', keys: CREDENTIAL_FIELDS.length };
      return {
        outcome: 'not_kv2',
        message:
          type === undefined
            ? `Vault integration ${this.#client.label}: no database secrets engine is visible at ${this.#loc.mount} to this token`
            : `Vault integration ${this.#client.label}: ${this.#loc.mount} is a ${type} secrets engine, not a database secrets engine`,
      };
    });
  }
}
