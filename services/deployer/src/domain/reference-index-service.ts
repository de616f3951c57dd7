import { invalidArgument } from '@latchkey/errors';
import { DOMAIN_NAME, GLOBAL_SCOPE, SECRET_KEY, type SourceType } from '@latchkey/events';
import type { ReferenceIndex } from './ports.js';
import type { DeployedVaultKey, HeldVersion, KeyDependents } from './reference-index-types.js';

const MAX_SOURCE_ID = 256;
/** The most deployment ids one liveDeployments call takes. */
export const MAX_LIVE_QUERY = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How long a deletion's fence stands when the catalog never says the delete is over (it stopped). */
export const DELETION_TTL_MS = 5 * 60_000;

const quoted = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

function sourceTypeOf(raw: string): SourceType {
  // KUBERNETES is accepted as an alias of MANAGED on input, as everywhere else.
  if (raw === 'MANAGED' || raw === 'KUBERNETES') return 'MANAGED';
  if (raw === 'VAULT') return 'VAULT';
  throw invalidArgument(
    'dependents.invalid_source_type',
    `source_type ${quoted(raw)} is not a secret source: expected MANAGED (or its alias KUBERNETES) or VAULT`,
  );
}

function checkSourceId(type: SourceType, id: string): void {
  if (id.length === 0) {
    throw invalidArgument(
      'dependents.invalid_source_id',
      type === 'MANAGED'
        ? 'source_id is empty: give the domain name or "global"'
        : 'source_id is empty: give the Vault integration id',
    );
  }
  if (type === 'MANAGED' && id !== GLOBAL_SCOPE && !DOMAIN_NAME.test(id)) {
    throw invalidArgument(
      'dependents.invalid_source_id',
      `source_id ${quoted(id)} is neither a domain name (${DOMAIN_NAME.source}) nor "global"`,
    );
  }
  if (type === 'VAULT' && id.length > MAX_SOURCE_ID) {
    throw invalidArgument(
      'dependents.invalid_source_id',
      `source_id is ${id.length} characters long: a Vault integration id has at most ${MAX_SOURCE_ID}`,
    );
  }
}

function distinctKeys(keys: readonly string[]): string[] {
  const bad = keys.filter((k) => !SECRET_KEY.test(k));
  if (bad.length > 0) {
    throw invalidArgument(
      'dependents.invalid_key',
      `${bad.length} of the keys ${bad.length === 1 ? 'is' : 'are'} not a secret key (1-253 letters, digits, '.', '_' or '-'), first ${quoted(bad[0]!)}`,
    );
  }
  return [...new Set(keys)];
}

/** Who references which secret, for the catalog (deletes, inventory, the Vault version watch). */
export class ReferenceIndexService {
  constructor(private readonly deps: { index: ReferenceIndex }) {}

  /**
   * The workloads whose spec references each key of a source. With `keys`,
   * one entry per distinct key in the order asked, empty when nothing uses
   * it; without, every key of the source that something uses, by key.
   *
   * A legacy `${secrets.KEY}` is looked up in the workload's domain, then in
   * global scope, so it counts as a dependent of the domain key and of the
   * global key, whether or not the domain holds the key today.
   */
  async dependents(sourceType: string, sourceId: string, keys: readonly string[]): Promise<KeyDependents[]> {
    const type = sourceTypeOf(sourceType);
    checkSourceId(type, sourceId);
    const wanted = distinctKeys(keys);
    if (wanted.length === 0) return this.deps.index.dependents({ sourceType: type, sourceId });
    const found = new Map(
      (await this.deps.index.dependents({ sourceType: type, sourceId, keys: wanted })).map((d) => [d.key, d.workloads]),
    );
    return wanted.map((key) => ({ key, workloads: found.get(key) ?? [] }));
  }

  /**
   * The catalog's delete of `keys` of a source (every key of a Vault
   * integration when empty), first step: the dependents, as `dependents`
   * answers them, and in the same decision a fence against new references
   * unless there are dependents and the delete is not `force`d. The fence's
   * id is empty when the delete is refused; the catalog lifts the fence with
   * endDeletion once its delete is over (else it lapses after DELETION_TTL_MS).
   */
  async beginDeletion(
    sourceType: string,
    sourceId: string,
    keys: readonly string[],
    force: boolean,
  ): Promise<{ deletionId: string; dependents: KeyDependents[] }> {
    const type = sourceTypeOf(sourceType);
    checkSourceId(type, sourceId);
    const wanted = distinctKeys(keys);
    const check = await this.deps.index.beginDeletion({
      sourceType: type,
      sourceId,
      ...(wanted.length > 0 ? { keys: wanted } : {}),
      force,
      ttlMs: DELETION_TTL_MS,
    });
    const found = new Map(check.dependents.map((d) => [d.key, d.workloads]));
    const dependents =
      wanted.length === 0 ? check.dependents : wanted.map((key) => ({ key, workloads: found.get(key) ?? [] }));
    return { deletionId: check.deletionId ?? '', dependents };
  }

  async endDeletion(deletionId: string): Promise<void> {
    if (!/^[0-9a-f-]{36}$/.test(deletionId)) {
      throw invalidArgument('deletion.invalid_id', `deletion id ${quoted(deletionId)} is not one beginDeletion gave`);
    }
    await this.deps.index.endDeletion(deletionId);
  }

  deployedVaultKeys(): Promise<DeployedVaultKey[]> {
    return this.deps.index.deployedVaultKeys();
  }

  /** Which version of one key each live deployment holds (`latchkey secret versions`). */
  async heldVersions(sourceType: string, sourceId: string, key: string): Promise<HeldVersion[]> {
    const type = sourceTypeOf(sourceType);
    checkSourceId(type, sourceId);
    const [wanted] = distinctKeys([key]);
    return this.deps.index.heldVersions({ sourceType: type, sourceId, key: wanted ?? key });
  }

  /** Which of the deployments are live (the catalog's Vault lease keeper): at most MAX_LIVE_QUERY ids, each a UUID. */
  async liveDeployments(ids: readonly string[]): Promise<string[]> {
    if (ids.length > MAX_LIVE_QUERY) {
      throw invalidArgument(
        'deployments.too_many_ids',
        `${ids.length} deployment ids asked at once: at most ${MAX_LIVE_QUERY} per call`,
      );
    }
    const bad = ids.find((id) => !UUID.test(id));
    if (bad !== undefined) {
      throw invalidArgument('deployments.invalid_id', `deployment id ${quoted(bad)} is not a UUID`);
    }
    const distinct = [...new Set(ids.map((id) => id.toLowerCase()))];
    return distinct.length === 0 ? [] : this.deps.index.liveDeployments(distinct);
  }
}
