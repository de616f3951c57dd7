import { randomUUID } from 'node:crypto';
import { alreadyExists, invalidArgument, LatchkeyError, notFound } from '@latchkey/errors';
import { authorize, type Authorizer } from '@latchkey/authz';
import type { Bundles, Dependents, VaultIntegrationRepo, VaultSources } from '../ports.js';
import { DOMAIN_NAME, GLOBAL } from '../secrets/secret-types.js';
import {
  INTEGRATION_NAME,
  VAULT_AUTH_METHODS,
  VAULT_LAYOUTS,
  type VaultAuthMethod,
  type VaultIntegrationRecord,
  type VaultLayoutName,
  type VaultConnectionSettings,
  type VaultSettingsInput,
  type VaultTestOutcome,
} from './vault-integration-types.js';

export interface VaultIntegrationServiceDeps {
  repo: VaultIntegrationRepo;
  sources: VaultSources;
  authorizer: Authorizer;
  bundles: Bundles;
  dependents: Dependents;
  /** Called after a change committed (kicks the outbox relay). */
  onChange: () => void;
  logger?: { warn(msg: string, fields?: Record<string, unknown>): void };
}

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

export interface VaultIntegrationUpdate {
  name?: string;
  host?: string;
  path?: string;
  namespace?: string;
  authMethod?: string;
  roleId?: string;
  credential?: Buffer;
  layout?: string;
  bundle?: string;
}

const NAMESPACE = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;
const ROLE_ID = /^[\x21-\x7e]{1,256}$/;
const CREDENTIAL = /^[\x21-\x7e]{1,4096}$/;

function checkDomain(domain: string): void {
  if (domain === GLOBAL) {
    throw invalidArgument(
      'domain.reserved',
      '"global" is the platform-wide scope, not a domain: Vault integrations belong to domains (give --domain D)',
    );
  }
  if (!DOMAIN_NAME.test(domain)) {
    throw invalidArgument(
      'domain.invalid_name',
      `invalid domain name ${JSON.stringify(domain.slice(0, 80))}: lowercase letters, digits and hyphens`,
    );
  }
}

function checkName(name: string): void {
  if (!INTEGRATION_NAME.test(name)) {
    throw invalidArgument(
      'vault.invalid_name',
      `invalid integration name ${JSON.stringify(name.slice(0, 80))}: 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}

/**
 * Checks everything but the path and host syntax (the connection factory
 * checks those, as it is the one that parses them). Never echoes the credential.
 */
function normaliseSettings(raw: RawVaultSettings): VaultConnectionSettings & { credential: Buffer | undefined } {
  const authMethod = raw.authMethod as VaultAuthMethod;
  if (!VAULT_AUTH_METHODS.includes(authMethod)) {
    throw invalidArgument(
      'vault.invalid_auth_method',
      `auth method ${JSON.stringify(raw.authMethod.slice(0, 40))} is not supported: use token or approle`,
    );
  }
  const layout = (raw.layout || 'children') as VaultLayoutName;
  if (!VAULT_LAYOUTS.includes(layout)) {
    throw invalidArgument(
      'vault.invalid_layout',
      `layout ${JSON.stringify(raw.layout.slice(0, 40))} is not known: use children (each key a child secret holding {"value"}) or fields (each field of one secret a key)`,
    );
  }
  const namespace = raw.namespace.replace(/^\/+|\/+$/g, '');
  if (namespace !== '' && !NAMESPACE.test(namespace)) {
    throw invalidArgument(
      'vault.invalid_namespace',
      `namespace ${JSON.stringify(raw.namespace.slice(0, 80))} is not a Vault namespace path like team or team/sub`,
    );
  }
  if (authMethod === 'approle' && !ROLE_ID.test(raw.roleId)) {
    throw invalidArgument(
      'vault.role_id_required',
      raw.roleId === ''
        ? 'AppRole auth needs the role id (--role-id ID)'
        : 'the role id must be 1-256 printable characters without spaces',
    );
  }
  if (authMethod === 'token' && raw.roleId !== '') {
    throw invalidArgument('vault.role_id_unexpected', 'a role id is only for AppRole auth: drop it or use approle');
  }
  if (raw.credential !== undefined && raw.credential.length === 0) {
    throw invalidArgument(
      'vault.credential_missing',
      `no ${authMethod === 'token' ? 'token' : 'AppRole secret id'}: pass it on standard input or with --credential-file`,
    );
  }
  if (raw.credential !== undefined && !CREDENTIAL.test(raw.credential.toString('latin1'))) {
    throw invalidArgument(
      'vault.credential_invalid',
      `the ${authMethod === 'token' ? 'token' : 'secret id'} must be 1-4096 printable characters without spaces or line breaks (it is not shown here)`,
    );
  }
  if (/^[a-z]+:\/\/[^/]*@/i.test(raw.host.trim())) {
    throw invalidArgument(
      'vault.invalid_host',
      'the Vault host must not carry credentials (user:password@): give the token or secret id on standard input',
    );
  }
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

function withCredential(s: VaultConnectionSettings & { credential: Buffer | undefined }): VaultSettingsInput {
  if (s.credential === undefined) {
    throw invalidArgument(
      'vault.credential_missing',
      `no ${s.authMethod === 'token' ? 'token' : 'AppRole secret id'}: pass it on standard input or with --credential-file`,
    );
  }
  return { ...s, credential: s.credential };
}

/**
 * Read-only Vault integrations of a domain: create, list, get, update,
 * delete and test. Latchkey never writes to such a Vault, and the
 * credential is write-only: stored encrypted, used to connect, never returned.
 *
 * Who may: creating (and testing unsaved settings) needs MANAGE_VAULT in the
 * domain (owners, platform admins); after that the integration's resource
 * bundle decides: VIEW (or UPDATE) to see its configuration, UPDATE to modify,
 * test or delete it (USE, for its keys, is the selector's and the resolver's
 * check). Every call first needs a role in the domain, so that anyone without
 * one gets the same refusal whether the integration exists or not.
 */
export class VaultIntegrationService {
  constructor(private readonly deps: VaultIntegrationServiceDeps) {}

  async create(
    principal: string,
    input: {
      domain: string;
      name: string;
      bundle: string;
      settings: RawVaultSettings;
      /** The request that asked: in ras's decision record and in the change's audit record. */
      requestId?: string;
    },
  ): Promise<VaultIntegrationRecord> {
    const requestId = input.requestId === undefined ? {} : { requestId: input.requestId };
    checkDomain(input.domain);
    checkName(input.name);
    if (input.bundle === '') {
      throw invalidArgument(
        'vault.bundle_required',
        'an integration belongs to a resource bundle: give --bundle B (create one with latchkey bundle create B --domain D)',
      );
    }
    const settings = withCredential(normaliseSettings(input.settings));
    this.deps.sources.validate(settings);
    await authorize(this.deps.authorizer, { principal, action: 'vault.manage', domain: input.domain, ...requestId });
    if (!(await this.deps.bundles.exists(input.domain, input.bundle))) {
      throw notFound(
        'bundle.not_found',
        `bundle ${input.bundle.slice(0, 80)} not found in domain ${input.domain}: create it with latchkey bundle create ${input.bundle.slice(0, 80)} --domain ${input.domain}`,
      );
    }
    const created = await this.deps.repo.create({
      id: randomUUID(),
      domain: input.domain,
      name: input.name,
      bundle: input.bundle,
      settings,
      by: principal,
      ...requestId,
    });
    if (!created) {
      throw alreadyExists(
        'vault.integration_exists',
        `domain ${input.domain} already has a Vault integration named ${input.name}: choose another name or update it`,
      );
    }
    this.deps.onChange();
    return created;
  }

  /** The domain's integrations whose bundle the principal may VIEW (or UPDATE); none for the others. */
  async list(principal: string, domain: string): Promise<VaultIntegrationRecord[]> {
    checkDomain(domain);
    await this.#inDomain(principal, domain);
    const all = await this.deps.repo.list(domain);
    const bundles = [...new Set(all.map((i) => i.bundle))];
    const decisions = await this.deps.authorizer.checkBatch(
      bundles.map((bundle) => ({ principal, action: 'bundle.view', domain, resource: bundle })),
    );
    const viewable = new Set(bundles.filter((_, n) => decisions[n]?.allowed === true));
    return all.filter((i) => viewable.has(i.bundle));
  }

  /** One integration's configuration: VIEW (or UPDATE) on its bundle. */
  async get(principal: string, domain: string, integration: string): Promise<VaultIntegrationRecord> {
    checkDomain(domain);
    await this.#inDomain(principal, domain);
    const found = await this.#find(domain, integration);
    await authorize(this.deps.authorizer, { principal, action: 'bundle.view', domain, resource: found.bundle });
    return found;
  }

  async update(
    principal: string,
    domain: string,
    integration: string,
    changes: VaultIntegrationUpdate,
    requestId?: string,
  ): Promise<VaultIntegrationRecord> {
    checkDomain(domain);
    if (changes.name !== undefined) checkName(changes.name);
    const current = await this.#updatable(principal, domain, integration, requestId);
    if (changes.bundle !== undefined && changes.bundle !== current.bundle) {
      throw new LatchkeyError(
        'vault.bundle_fixed',
        `integration ${current.name} belongs to bundle ${current.bundle}, fixed at creation: to use bundle ${changes.bundle.slice(0, 80)}, create a new integration with --bundle ${changes.bundle.slice(0, 80)} and delete this one`,
        { kind: 'failed_precondition' },
      );
    }
    const authMethod = changes.authMethod ?? current.authMethod;
    if (authMethod !== current.authMethod && changes.credential === undefined) {
      throw invalidArgument(
        'vault.credential_missing',
        `changing the auth method to ${authMethod.slice(0, 40)} needs its credential: pass it on standard input or with --credential-file`,
      );
    }
    const roleId = changes.roleId ?? (authMethod === 'token' ? '' : current.roleId);
    const settings = normaliseSettings({
      host: changes.host ?? current.host,
      path: changes.path ?? current.path,
      namespace: changes.namespace ?? current.namespace,
      authMethod,
      roleId,
      layout: changes.layout ?? current.layout,
      credential: changes.credential,
    });
    const { credential, ...connection } = settings;
    // The stored credential is sent only to the host it was given for: whoever
    // may update an integration must not be able to point it at a server of
    // theirs and receive the credential at the next test or watch round. (The
    // repository holds to this too, against a change made meanwhile.)
    const hostNeedsCredential = () =>
      invalidArgument(
        'vault.credential_missing',
        'changing the host needs the credential again (the stored one is sent only to the host it was given for): pass it on standard input or with --credential-file',
      );
    if (connection.host !== current.host && credential === undefined) throw hostNeedsCredential();
    this.deps.sources.validate(connection);
    const updated = await this.deps.repo.update(
      current.id,
      { ...connection, name: changes.name ?? current.name },
      credential,
      principal,
      requestId,
    );
    this.deps.sources.forget(current.id);
    if (updated === 'credential_needed') throw hostNeedsCredential();
    if (updated === 'name_taken') {
      throw alreadyExists(
        'vault.integration_exists',
        `domain ${domain} already has a Vault integration named ${changes.name ?? ''}: choose another name`,
      );
    }
    if (!updated) throw this.#notFound(domain, integration);
    this.deps.onChange();
    return updated;
  }

  async delete(
    principal: string,
    domain: string,
    integration: string,
    force: boolean,
    requestId?: string,
  ): Promise<{ deleted: VaultIntegrationRecord; dependents: string[] }> {
    checkDomain(domain);
    const current = await this.#updatable(principal, domain, integration, requestId);
    // The check and the delete are one decision: the deployer fences every key
    // of the integration against new references until the delete is over.
    const check = await this.deps.dependents.beginDeletion('VAULT', current.id, [], force);
    const dependents = [...new Set([...check.dependents.values()].flat())].sort();
    if (check.deletionId === undefined) {
      throw new LatchkeyError(
        'vault.integration_in_use',
        `integration ${current.name} is referenced by ${dependents.length} workload(s): ${dependents.join(', ')}; ` +
          'change them first, or delete anyway with --force (they become stale; Vault itself is not touched)',
        { kind: 'failed_precondition', details: { dependents: dependents.join(',') } },
      );
    }
    let removed: boolean;
    try {
      const deployed = (await this.deps.dependents.deployedVaultKeys())
        .filter((k) => k.integrationId === current.id)
        .map((k) => ({ key: k.key, version: k.version }));
      removed = await this.deps.repo.delete(current.id, principal, deployed, requestId);
    } finally {
      await this.deps.dependents.endDeletion(check.deletionId).catch((err: unknown) => {
        this.deps.logger?.warn('the deployer was not told an integration delete is over; its fence lapses by itself', {
          integrationId: current.id,
          code: err instanceof LatchkeyError ? err.code : 'error',
        });
      });
    }
    if (!removed) throw this.#notFound(domain, integration);
    this.deps.sources.forget(current.id);
    this.deps.onChange();
    return { deleted: current, dependents };
  }

  /** Tests a saved integration (by name or id) or unsaved settings; the outcome is data, not an error. */
  async test(
    principal: string,
    domain: string,
    target: { integration: string } | { settings: RawVaultSettings },
  ): Promise<VaultTestOutcome> {
    checkDomain(domain);
    if ('settings' in target) {
      const settings = withCredential(normaliseSettings(target.settings));
      this.deps.sources.validate(settings);
      await authorize(this.deps.authorizer, { principal, action: 'vault.manage', domain });
      return this.deps.sources.forSettings(settings, `${domain}/(unsaved)`).test();
    }
    // A saved integration is tested from its update form: UPDATE on its bundle.
    const record = await this.#updatable(principal, domain, target.integration);
    return (await this.deps.sources.forIntegration(record)).test();
  }

  /**
   * The bundle of each of `ids` that is an integration of `domain` (the
   * resolver's internal question, before it checks USE on them): no
   * authorization here, as the internal transport admits only the resolver.
   * An id of another domain is answered like a missing one.
   */
  async bundlesOf(domain: string, ids: readonly string[]): Promise<{ id: string; bundle: string | undefined }[]> {
    const records = DOMAIN_NAME.test(domain) ? await this.deps.repo.byIds([...new Set(ids)]) : [];
    const bundles = new Map(records.filter((r) => r.domain === domain).map((r) => [r.id, r.bundle]));
    return ids.map((id) => ({ id, bundle: bundles.get(id) }));
  }

  /**
   * Standing in the domain (any role): asked before any lookup, so that
   * whoever has none is told the same whether an integration exists or not.
   */
  async #inDomain(principal: string, domain: string, requestId?: string): Promise<void> {
    await authorize(this.deps.authorizer, {
      principal,
      action: 'secret.list',
      domain,
      ...(requestId === undefined ? {} : { requestId }),
    });
  }

  /** The integration, if the principal may modify or delete it: UPDATE on its bundle. */
  async #updatable(
    principal: string,
    domain: string,
    integration: string,
    requestId?: string,
  ): Promise<VaultIntegrationRecord> {
    await this.#inDomain(principal, domain, requestId);
    const current = await this.#find(domain, integration);
    await authorize(this.deps.authorizer, {
      principal,
      action: 'bundle.update',
      domain,
      resource: current.bundle,
      ...(requestId === undefined ? {} : { requestId }),
    });
    return current;
  }

  async #find(domain: string, integration: string): Promise<VaultIntegrationRecord> {
    if (integration === '') {
      throw invalidArgument('vault.integration_missing', 'name the integration (its name or id)');
    }
    const found = await this.deps.repo.find(domain, integration);
    if (!found) throw this.#notFound(domain, integration);
    return found;
  }

  #notFound(domain: string, integration: string): LatchkeyError {
    return notFound(
      'vault.integration_not_found',
      `no Vault integration ${JSON.stringify(integration.slice(0, 80))} in domain ${domain}: see latchkey vault list --domain ${domain}`,
    );
  }
}
