import type { ServiceMetrics } from '@latchkey/metrics';
import type { VaultIntegrationRepo, VaultSources } from '../domain/ports.js';
import { integrationDeleted } from '../domain/vault/vault-integration-errors.js';
import type {
  VaultConnectionSettings,
  VaultIntegrationRecord,
  VaultSettingsInput,
  VaultSource,
} from '../domain/vault/vault-integration-types.js';
import type { VaultAuth } from './vault-http-client.js';
import type { VaultHostPolicy } from './vault-host-policy.js';
import { DynamicCredsSource, parseCredsPath } from './vault-dynamic-source.js';
import { VaultIntegrationReader } from './vault-integration-reader.js';

/** A KV v2 reader, or a dynamic-secrets source when the path is `<mount>/creds/<role>`. */
function sourceFor(opts: Parameters<typeof VaultIntegrationReader.create>[0]): VaultSource {
  return parseCredsPath(opts.path) === undefined
    ? VaultIntegrationReader.create(opts)
    : DynamicCredsSource.create(opts);
}

export interface VaultSourcesOptions {
  repo: Pick<VaultIntegrationRepo, 'credential'>;
  /** Which hosts integrations may point at (LATCHKEY_VAULT_ALLOWED_HOSTS); tests name theirs explicitly. */
  hostPolicy: VaultHostPolicy;
  /** Per request, ms; default 10 000. */
  timeoutMs?: number;
  /** PEM CA bundle that https integrations are checked against instead of Node's roots (and NODE_EXTRA_CA_CERTS). */
  ca?: string;
  /** Parallel reads per integration; default 8. */
  concurrency?: number;
  /** Each request to a saved integration's Vault, by integration id and domain (a test of unsaved settings is not counted). */
  metrics?: Pick<ServiceMetrics, 'vaultRequest'>;
}

function auth(s: VaultConnectionSettings, credential: string): VaultAuth {
  return s.authMethod === 'token'
    ? { method: 'token', token: credential }
    : { method: 'approle', roleId: s.roleId, secretId: credential };
}

/**
 * Read-only connections to integrations' Vaults. A saved integration's
 * connection is kept while the integration is unchanged (same `updatedAt`),
 * so an AppRole token is reused across requests until shortly before its
 * lease ends instead of logging in for every deployment.
 */
export class CachedVaultSources implements VaultSources {
  readonly #cache = new Map<string, { stamp: number; source: Promise<VaultSource> }>();

  constructor(private readonly opts: VaultSourcesOptions) {}

  validate(settings: VaultConnectionSettings): void {
    // Building a reader parses host, path and layout and checks the host against
    // the policy (invalid_argument errors naming the problem), and sends nothing.
    sourceFor(this.#base(settings, 'unused', ''));
  }

  forSettings(settings: VaultSettingsInput, label: string): VaultSource {
    return sourceFor(this.#base(settings, settings.credential.toString('utf8'), label));
  }

  forIntegration(record: VaultIntegrationRecord): Promise<VaultSource> {
    const stamp = record.updatedAt.getTime();
    const hit = this.#cache.get(record.id);
    if (hit && hit.stamp === stamp) return hit.source;
    const source = this.opts.repo.credential(record.id).then((credential) => {
      if (credential === undefined) throw integrationDeleted(record);
      try {
        return sourceFor(this.#base(record, credential.toString('utf8'), `${record.domain}/${record.name}`, record));
      } finally {
        credential.fill(0);
      }
    });
    this.#cache.set(record.id, { stamp, source });
    // A failed build is not cached.
    source.catch(() => {
      if (this.#cache.get(record.id)?.source === source) this.#cache.delete(record.id);
    });
    return source;
  }

  forget(id: string): void {
    this.#cache.delete(id);
  }

  #base(s: VaultConnectionSettings, credential: string, label: string, saved?: VaultIntegrationRecord) {
    const metrics = this.opts.metrics;
    const observe =
      metrics === undefined || saved === undefined
        ? undefined
        : (op: string, seconds: number, error: string | undefined) =>
            metrics.vaultRequest({
              integration: saved.id,
              op,
              seconds,
              ...(error === undefined ? {} : { error }),
            });
    return {
      ...(observe === undefined ? {} : { observe }),
      host: s.host,
      path: s.path,
      layout: s.layout,
      auth: auth(s, credential),
      integration: label,
      hostPolicy: this.opts.hostPolicy,
      ...(s.namespace === '' ? {} : { namespace: s.namespace }),
      ...(this.opts.timeoutMs === undefined ? {} : { timeoutMs: this.opts.timeoutMs }),
      ...(this.opts.ca === undefined ? {} : { ca: this.opts.ca }),
      ...(this.opts.concurrency === undefined ? {} : { concurrency: this.opts.concurrency }),
    };
  }
}
