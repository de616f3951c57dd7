import type { LatchkeyError } from '@latchkey/errors';

export const VAULT_AUTH_METHODS = ['token', 'approle'] as const;
export type VaultAuthMethod = (typeof VAULT_AUTH_METHODS)[number];
export const VAULT_LAYOUTS = ['children', 'fields'] as const;
export type VaultLayoutName = (typeof VAULT_LAYOUTS)[number];

/** An integration's name is libs/events' OBJECT_NAME (unique per domain), its id an INTEGRATION_ID (a UUID). */

/** A read-only Vault integration as stored, without its credential. */
export interface VaultIntegrationRecord {
  id: string;
  domain: string;
  name: string;
  host: string;
  path: string;
  namespace: string;
  bundle: string;
  authMethod: VaultAuthMethod;
  /** AppRole role id (an identifier, not a credential); '' for token auth. */
  roleId: string;
  layout: VaultLayoutName;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  updatedBy: string;
}

/** Where and how to reach an integration's Vault, less the credential. */
export interface VaultConnectionSettings {
  host: string;
  path: string;
  namespace: string;
  authMethod: VaultAuthMethod;
  roleId: string;
  layout: VaultLayoutName;
}

/** What it takes to talk to an integration's Vault. */
export interface VaultSettingsInput extends VaultConnectionSettings {
  /** The token (token auth) or the AppRole secret id: write-only. */
  credential: Buffer;
}

export type VaultKeyResult = { value: Buffer; version: number } | { error: LatchkeyError };

export type VaultTestOutcome =
  | { outcome: 'ok'; keys: number }
  | {
      outcome: 'unreachable' | 'tls_failure' | 'bad_credentials' | 'no_permission' | 'not_kv2' | 'sealed';
      message: string;
    };

/** Credentials a dynamic-secrets path issued, under their lease. */
export interface LeasedCredentials {
  leaseId: string;
  /** Seconds the lease runs from its issue. */
  leaseSeconds: number;
  renewable: boolean;
  /** The fields (`username`, `password`): the values, to be zeroed once used. */
  fields: Map<string, Buffer>;
}

/** The lease side of an integration whose path is a Vault dynamic-secrets path (`<mount>/creds/<role>`). */
export interface DynamicVaultSource {
  /** `<mount>/creds/<role>` */
  readonly credsPath: string;
  /** New credentials under a new lease: each call issues another. */
  issue(): Promise<LeasedCredentials>;
  /** Asks for `incrementSeconds` more; what Vault granted. `vault.lease_not_found` when Vault no longer has it. */
  renew(leaseId: string, incrementSeconds: number): Promise<{ leaseSeconds: number; renewable: boolean }>;
  /** Ends the lease (the credentials stop working). Idempotent. */
  revoke(leaseId: string): Promise<void>;
}

/** A connection to one integration's Vault, read-only by construction. */
export interface VaultSource {
  listKeys(): Promise<string[]>;
  read(keys: string[]): Promise<Map<string, VaultKeyResult>>;
  currentVersions(keys: string[]): Promise<Map<string, number>>;
  test(): Promise<VaultTestOutcome>;
  /** Set when the integration's path is a dynamic-secrets path: its values are read only for a deployment, leased. */
  readonly dynamic?: DynamicVaultSource;
}
