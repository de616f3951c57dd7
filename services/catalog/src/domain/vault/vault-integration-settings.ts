import { checkDomainName, GLOBAL_SCOPE, OBJECT_NAME } from '@latchkey/events';
import {
  credentialInvalid,
  credentialMissing,
  credentialsInHost,
  globalIsNoDomain,
  invalidAuthMethod,
  invalidIntegrationName,
  invalidLayout,
  invalidNamespace,
  roleIdRequired,
  roleIdUnexpected,
} from './vault-integration-errors.js';
import {
  VAULT_AUTH_METHODS,
  VAULT_LAYOUTS,
  type VaultAuthMethod,
  type VaultConnectionSettings,
  type VaultLayoutName,
  type VaultSettingsInput,
} from './vault-integration-types.js';

/** Settings as they arrive on the wire (strings may be empty). */
export interface RawVaultSettings {
  host: string;
  path: string;
  namespace: string;
  authMethod: string;
  roleId: string;
  layout: string;
  /** Absent only on update, where the stored credential is kept. */
  credential: Buffer | undefined;
}

const NAMESPACE = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const ROLE_ID = /^[\x21-\x7e]{1,256}$/;
const CREDENTIAL = /^[\x21-\x7e]{1,4096}$/;

/** A domain integrations may belong to: a domain name, and not `global`. */
export function checkIntegrationDomain(domain: string): void {
  if (domain === GLOBAL_SCOPE) throw globalIsNoDomain();
  checkDomainName(domain);
}

export function checkIntegrationName(name: string): void {
  if (!OBJECT_NAME.test(name)) throw invalidIntegrationName(name);
}

/** The role id and credential for the auth method; never echoes the credential. */
function checkAuth(authMethod: VaultAuthMethod, raw: RawVaultSettings): void {
  if (authMethod === 'approle' && !ROLE_ID.test(raw.roleId)) throw roleIdRequired(raw.roleId);
  if (authMethod === 'token' && raw.roleId !== '') throw roleIdUnexpected();
  if (raw.credential !== undefined && raw.credential.length === 0) throw credentialMissing(authMethod);
  if (raw.credential !== undefined && !CREDENTIAL.test(raw.credential.toString('latin1'))) {
    throw credentialInvalid(authMethod);
  }
}

/**
 * Checks everything but the path and host syntax (the connection factory
 * checks those, as it is the one that parses them). Never echoes the credential.
 */
export function normaliseSettings(raw: RawVaultSettings): VaultConnectionSettings & { credential: Buffer | undefined } {
  const authMethod = raw.authMethod as VaultAuthMethod;
  if (!VAULT_AUTH_METHODS.includes(authMethod)) throw invalidAuthMethod(raw.authMethod);
  const layout = (raw.layout || 'children') as VaultLayoutName;
  if (!VAULT_LAYOUTS.includes(layout)) throw invalidLayout(raw.layout);
  const namespace = raw.namespace.replace(/^\/+|\/+$/g, '');
  if (namespace !== '' && !NAMESPACE.test(namespace)) throw invalidNamespace(raw.namespace);
  checkAuth(authMethod, raw);
  if (/^[a-z]+:\/\/[^/]*@/i.test(raw.host.trim())) throw credentialsInHost();
  return {
    host: raw.host.trim(),
    path: raw.path.trim(),
    namespace,
    authMethod,
    roleId: raw.roleId,
    layout,
    credential: raw.credential,
  };
}

/** Settings that must carry their credential (create, test of unsaved settings). */
export function withCredential(s: VaultConnectionSettings & { credential: Buffer | undefined }): VaultSettingsInput {
  if (s.credential === undefined) throw credentialMissing(s.authMethod);
  return { ...s, credential: s.credential };
}
