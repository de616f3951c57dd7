import { randomUUID } from 'node:crypto';
import { LatchkeyError } from '@latchkey/errors';
import { DOMAIN_NAME } from '@latchkey/events';
import { authorize, type Authorizer } from '@latchkey/authz';
import type { Bundles, Dependents, VaultIntegrationRepo, VaultSources } from '../ports.js';
import {
  bundleFixed,
  bundleNotFound,
  bundleRequired,
  credentialNeededForAuthMethod,
  credentialNeededForHost,
  integrationExists,
  integrationInUse,
  integrationMissing,
  integrationNotFound,
} from './vault-integration-errors.js';
import {
  checkIntegrationDomain as checkDomain,
  checkIntegrationName as checkName,
  normaliseSettings,
  withCredential,
  type RawVaultSettings,
} from './vault-integration-settings.js';
import type { VaultIntegrationRecord, VaultTestOutcome } from './vault-integration-types.js';

export type { RawVaultSettings } from './vault-integration-settings.js';

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
    if (input.bundle === '') throw bundleRequired();
    const settings = withCredential(normaliseSettings(input.settings));
    this.deps.sources.validate(settings);
    await authorize(this.deps.authorizer, { principal, action: 'vault.manage', domain: input.domain, ...requestId });
    if (!(await this.deps.bundles.exists(input.domain, input.bundle))) {
      throw bundleNotFound(input.domain, input.bundle);
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
    if (!created) throw integrationExists(input.domain, input.name);
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
      throw bundleFixed(current, changes.bundle);
    }
    const authMethod = changes.authMethod ?? current.authMethod;
    if (authMethod !== current.authMethod && changes.credential === undefined) {
      throw credentialNeededForAuthMethod(authMethod);
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
    if (connection.host !== current.host && credential === undefined) throw credentialNeededForHost();
    this.deps.sources.validate(connection);
    const updated = await this.deps.repo.update(
      current.id,
      { ...connection, name: changes.name ?? current.name },
      credential,
      principal,
      requestId,
    );
    this.deps.sources.forget(current.id);
    if (updated === 'credential_needed') throw credentialNeededForHost();
    if (updated === 'name_taken') throw integrationExists(domain, changes.name ?? '', 'choose another name');
    if (!updated) throw integrationNotFound(domain, integration);
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
    if (check.deletionId === undefined) throw integrationInUse(current.name, dependents);
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
    if (!removed) throw integrationNotFound(domain, integration);
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
    if (integration === '') throw integrationMissing();
    const found = await this.deps.repo.find(domain, integration);
    if (!found) throw integrationNotFound(domain, integration);
    return found;
  }
}
