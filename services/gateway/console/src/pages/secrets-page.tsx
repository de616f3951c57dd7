// Domain Secrets and Global Secrets: metadata only. A value is typed into a
// form, sent once, and cleared; nothing here can show it again. A secret's
// versions (rollback, disable), its rotation policy and its recoverable
// delete are in secret-versions.tsx and secret-dialogs.tsx.
import { useRef, useState, type FormEvent, type RefObject } from 'react';
import { ApiError } from '../api/http.js';
import { api } from '../api/latchkey-api.js';
import type { InventoryEntry, SecretMetadata, SelectorEntry } from '../api/types.js';
import { Grid, Notice } from '../components/grid.js';
import { ProblemBox } from '../components/problem-box.js';
import { useLoad } from '../components/use-load.js';
import { when } from '../components/when.js';
import { DeletedSecrets, DeleteSecret, RotationPolicyForm } from './secret-dialogs.js';
import { SecretVersionsPanel } from './secret-versions.js';

export interface Row {
  key: string;
  source: string;
  managed: boolean;
  version: string;
  updatedAt: string;
  updatedBy: string;
  /** How many workloads reference it (undefined: not known here). */
  usedBy: number | undefined;
  rotateEvery: string;
}

const inScope = (e: InventoryEntry, domain: string | undefined): boolean =>
  domain === undefined ? e.secret?.scope?.global === true : e.secret?.scope?.global !== true;

function rowsOf(
  secrets: SecretMetadata[],
  inventory: InventoryEntry[] | undefined,
  vaultKeys: SelectorEntry[],
  domain: string | undefined,
): Row[] {
  const usedBy = new Map<string, number>();
  for (const e of inventory ?? []) {
    if (e.secret !== undefined && inScope(e, domain)) usedBy.set(e.secret.key, Number(e.workloadCount ?? 0));
  }
  const rows: Row[] = secrets.map((s) => ({
    key: s.key,
    source: `managed (${s.source ?? 'database'})`,
    managed: true,
    version: String(s.version ?? ''),
    updatedAt: s.updatedAt ?? s.createdAt ?? '',
    updatedBy: s.updatedBy ?? '',
    usedBy: inventory === undefined ? undefined : (usedBy.get(s.key) ?? 0),
    rotateEvery: s.rotateEvery ?? '',
  }));
  for (const v of vaultKeys) {
    rows.push({
      key: v.key,
      source: `Vault: ${v.integrationName ?? v.sourceId}`,
      managed: false,
      version: '',
      updatedAt: '',
      updatedBy: '',
      usedBy: undefined,
      rotateEvery: '',
    });
  }
  return rows;
}

/** A value input that React never holds: read once on submit, then cleared. */
function ValueInput({ label, inputRef }: { label: string; inputRef: RefObject<HTMLInputElement | null> }) {
  return (
    <label>
      {label}
      <input
        ref={inputRef}
        name="secret-value"
        type="password"
        autoComplete="off"
        spellCheck={false}
        data-testid="secret-value"
        required
      />
    </label>
  );
}

function takeValue(ref: RefObject<HTMLInputElement | null>): string {
  const v = ref.current?.value ?? '';
  if (ref.current) ref.current.value = '';
  return v;
}

/** Global secrets a domain user may read but not list directly: the selector's global keys. */
async function globalFromSelector(current: string): Promise<SecretMetadata[]> {
  const selector = await api.selector(current);
  return selector.entries
    .filter((e) => e.sourceType !== 'VAULT' && e.sourceId === 'global')
    .map((e) => ({ key: e.key, ...(e.backend ? { source: e.backend } : {}) }));
}

async function listSecrets(domain: string | undefined, current: string): Promise<SecretMetadata[]> {
  try {
    return await api.secrets(domain);
  } catch (e) {
    if (domain === undefined && e instanceof ApiError && e.status === 403) return globalFromSelector(current);
    throw e;
  }
}

/** A row's dialog below the table: one at a time. */
type Dialog = { kind: 'versions' | 'new-version' | 'policy' | 'delete'; row: Row };

/**
 * The buttons of a managed secret's row, for those who may change it (a
 * domain's page; Global Secrets for platform admins only: others may not list
 * global versions either).
 */
const ROW_DIALOGS: readonly (readonly [Dialog['kind'], string])[] = [
  ['versions', 'Versions'],
  ['new-version', 'New version'],
  ['policy', 'Rotation policy'],
  ['delete', 'Delete'],
];

/** `domain`: the scope shown (undefined: global); `current`: the domain the console is in. */
export function SecretsPage({
  domain,
  current,
  editable,
}: {
  domain: string | undefined;
  current: string;
  editable: boolean;
}) {
  const title = domain === undefined ? 'Global Secrets' : `Domain Secrets: ${domain}`;
  const load = useLoad(async () => {
    const [secrets, inventory, selector] = await Promise.all([
      listSecrets(domain, current),
      domain === undefined ? Promise.resolve(undefined) : api.inventory(domain).catch(() => undefined),
      domain === undefined ? Promise.resolve(undefined) : api.selector(domain).catch(() => undefined),
    ]);
    const vaultKeys = (selector?.entries ?? []).filter((e) => e.sourceType === 'VAULT');
    return rowsOf(secrets, inventory, vaultKeys, domain);
  }, [domain, current]);
  const [creating, setCreating] = useState(false);
  const [showDeleted, setShowDeleted] = useState(false);
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<unknown>();
  const [dialog, open] = useState<Dialog>();
  /** Counts the changes made here: the panels that show other lists load again on each. */
  const [tick, setTick] = useState(0);
  const keyRef = useRef<HTMLInputElement>(null);
  const valueRef = useRef<HTMLInputElement>(null);
  const descRef = useRef<HTMLInputElement>(null);
  const versionRef = useRef<HTMLInputElement>(null);

  const done = (text: string) => {
    setNotice(text);
    setError(undefined);
    setTick((t) => t + 1);
    load.reload();
  };
  const close = () => open(undefined);
  const closeWith = (text: string) => {
    close();
    done(text);
  };

  const create = async (ev: FormEvent) => {
    ev.preventDefault();
    const key = keyRef.current?.value.trim() ?? '';
    const value = takeValue(valueRef);
    try {
      const s = await api.putSecret(domain, key, value, descRef.current?.value || undefined);
      setCreating(false);
      done(`Secret ${s.key ?? key} saved (version ${String(s.version ?? 1)}). Its value will never be shown again.`);
    } catch (e) {
      setError(e);
    }
  };

  const newVersion = async (ev: FormEvent, key: string) => {
    ev.preventDefault();
    const value = takeValue(versionRef);
    try {
      const s = await api.putSecret(domain, key, value);
      close();
      done(`Secret ${key} is now at version ${String(s.version ?? '')}. Workloads that use it are marked stale.`);
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section>
      <h2>{title}</h2>
      {domain === undefined && !editable && (
        <p className="hint">Global secrets are readable by every domain; only platform admins change them.</p>
      )}
      <Notice text={notice} />
      <ProblemBox error={error ?? load.error} />
      {editable && (
        <div className="row">
          {!creating && (
            <button type="button" onClick={() => setCreating(true)}>
              New {domain === undefined ? 'global' : 'domain'} secret
            </button>
          )}
          <button type="button" aria-pressed={showDeleted} onClick={() => setShowDeleted(!showDeleted)}>
            {showDeleted ? 'Hide deleted secrets' : 'Deleted secrets'}
          </button>
        </div>
      )}
      {creating && (
        <form className="card" onSubmit={(ev) => void create(ev)} aria-label="New secret">
          <label>
            Secret key
            <input ref={keyRef} name="secret-key" required pattern="[A-Za-z0-9._\-]{1,253}" autoComplete="off" />
          </label>
          <ValueInput label="Secret value" inputRef={valueRef} />
          <label>
            Description
            <input ref={descRef} name="secret-description" autoComplete="off" />
          </label>
          <p className="hint">Once saved, the value can never be viewed again.</p>
          <button type="submit">Create</button>{' '}
          <button type="button" onClick={() => setCreating(false)}>
            Cancel
          </button>
        </form>
      )}
      {showDeleted && <DeletedSecrets domain={domain} reloadKey={tick} onDone={done} />}
      <Grid
        label="Secrets"
        columns={[
          'Key',
          'Source',
          'Version',
          'Last modified',
          'By',
          domain !== undefined && 'Used by',
          'Rotation',
          editable && 'Actions',
        ]}
        empty={load.data?.length === 0 ? 'No secrets yet.' : undefined}
      >
        {(load.data ?? []).map((r) => (
          <tr key={`${r.source}:${r.key}`} data-key={r.key}>
            <td>
              <code>{r.key}</code>
            </td>
            <td>{r.source}</td>
            <td>{r.version}</td>
            <td>{when(r.updatedAt)}</td>
            <td>{r.updatedBy}</td>
            {domain !== undefined && <td>{r.usedBy === undefined ? '' : String(r.usedBy)}</td>}
            <td>{r.rotateEvery}</td>
            {editable && (
              <td className="actions">
                {r.managed ? (
                  ROW_DIALOGS.map(([kind, label]) => (
                    <button
                      key={kind}
                      type="button"
                      className={kind === 'delete' ? 'danger' : undefined}
                      onClick={() => open({ kind, row: r })}
                    >
                      {label}
                    </button>
                  ))
                ) : (
                  <span className="hint">read-only (Vault)</span>
                )}
              </td>
            )}
          </tr>
        ))}
      </Grid>
      {dialog?.kind === 'new-version' && (
        <form className="card" onSubmit={(ev) => void newVersion(ev, dialog.row.key)} aria-label="New version">
          <h3>New version of {dialog.row.key}</h3>
          <ValueInput label="New value" inputRef={versionRef} />
          <button type="submit">Save new version</button>{' '}
          <button type="button" onClick={close}>
            Cancel
          </button>
        </form>
      )}
      {dialog?.kind === 'versions' && (
        <SecretVersionsPanel
          domain={domain}
          secretKey={dialog.row.key}
          editable={editable}
          reloadKey={tick}
          onChanged={(text) => done(text)}
          onClose={close}
        />
      )}
      {dialog?.kind === 'policy' && (
        <RotationPolicyForm domain={domain} row={dialog.row} onDone={closeWith} onCancel={close} />
      )}
      {dialog?.kind === 'delete' && (
        <DeleteSecret domain={domain} row={dialog.row} onDone={closeWith} onCancel={close} />
      )}
    </section>
  );
}
