// Domain Secrets and Global Secrets: metadata only. A value is typed into a
// form, sent once, and cleared; nothing here can show it again.
import { useRef, useState, type FormEvent, type RefObject } from 'react';
import { ApiError } from '../api/http.js';
import { api } from '../api/latchkey-api.js';
import type { InventoryEntry, SecretMetadata, SelectorEntry } from '../api/types.js';
import { ProblemBox } from '../components/problem-box.js';
import { useLoad } from '../components/use-load.js';
import { when } from '../components/when.js';

interface Row {
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
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<unknown>();
  const [versionOf, setVersionOf] = useState<string>();
  const [deleting, setDeleting] = useState<Row>();
  const [policyOf, setPolicyOf] = useState<Row>();
  const keyRef = useRef<HTMLInputElement>(null);
  const valueRef = useRef<HTMLInputElement>(null);
  const descRef = useRef<HTMLInputElement>(null);
  const versionRef = useRef<HTMLInputElement>(null);

  const done = (text: string) => {
    setNotice(text);
    setError(undefined);
    load.reload();
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
      setVersionOf(undefined);
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
      {notice !== '' && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <ProblemBox error={error ?? load.error} />
      {editable && !creating && (
        <button type="button" onClick={() => setCreating(true)}>
          New {domain === undefined ? 'global' : 'domain'} secret
        </button>
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
      <table className="grid" aria-label="Secrets">
        <thead>
          <tr>
            <th>Key</th>
            <th>Source</th>
            <th>Version</th>
            <th>Last modified</th>
            <th>By</th>
            {domain !== undefined && <th>Used by</th>}
            <th>Rotation</th>
            {editable && <th>Actions</th>}
          </tr>
        </thead>
        <tbody>
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
                  {r.managed && (
                    <>
                      <button type="button" onClick={() => setVersionOf(r.key)}>
                        New version
                      </button>
                      <button type="button" onClick={() => setPolicyOf(r)}>
                        Rotation policy
                      </button>
                      <button type="button" className="danger" onClick={() => setDeleting(r)}>
                        Delete
                      </button>
                    </>
                  )}
                  {!r.managed && <span className="hint">read-only (Vault)</span>}
                </td>
              )}
            </tr>
          ))}
          {load.data?.length === 0 && (
            <tr>
              <td colSpan={8} className="hint">
                No secrets yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {versionOf !== undefined && (
        <form className="card" onSubmit={(ev) => void newVersion(ev, versionOf)} aria-label="New version">
          <h3>New version of {versionOf}</h3>
          <ValueInput label="New value" inputRef={versionRef} />
          <button type="submit">Save new version</button>{' '}
          <button type="button" onClick={() => setVersionOf(undefined)}>
            Cancel
          </button>
        </form>
      )}
      {policyOf !== undefined && (
        <RotationPolicyForm
          domain={domain}
          row={policyOf}
          onDone={(text) => {
            setPolicyOf(undefined);
            done(text);
          }}
          onCancel={() => setPolicyOf(undefined)}
        />
      )}
      {deleting !== undefined && (
        <DeleteSecret
          domain={domain}
          row={deleting}
          onDone={(text) => {
            setDeleting(undefined);
            done(text);
          }}
          onCancel={() => setDeleting(undefined)}
        />
      )}
    </section>
  );
}

function RotationPolicyForm(props: {
  domain: string | undefined;
  row: Row;
  onDone: (text: string) => void;
  onCancel: () => void;
}) {
  const [every, setEvery] = useState(props.row.rotateEvery || '90d');
  const [error, setError] = useState<unknown>();
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    try {
      await api.setRotationPolicy(props.domain, props.row.key, every.trim());
      props.onDone(`Rotation policy of ${props.row.key}: ${every.trim()}.`);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <form className="card" onSubmit={(ev) => void submit(ev)} aria-label="Rotation policy">
      <h3>Rotation policy of {props.row.key}</h3>
      <label>
        Rotate every (e.g. 90d, 36h, or never)
        <input name="rotate-every" value={every} onChange={(e) => setEvery(e.target.value)} />
      </label>
      <ProblemBox error={error} />
      <button type="submit">Save policy</button>{' '}
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </form>
  );
}

/** Delete: lists the workloads that use the secret; a forced delete needs a second, explicit confirmation. */
function DeleteSecret(props: {
  domain: string | undefined;
  row: Row;
  onDone: (text: string) => void;
  onCancel: () => void;
}) {
  const [error, setError] = useState<unknown>();
  const [inUse, setInUse] = useState(false);
  const [confirmed, setConfirmed] = useState(false);
  // The workloads that use it, named (the inventory of that one key).
  const domain = props.domain;
  const usage = useLoad(
    async () => (domain === undefined ? [] : ((await api.inventory(domain, props.row.key))[0]?.workloads ?? [])),
    [domain, props.row.key],
  );
  const users = usage.data ?? [];
  const remove = async (force: boolean) => {
    try {
      const r = await api.deleteSecret(props.domain, props.row.key, force);
      const stale = r?.dependents ?? [];
      props.onDone(`Secret ${props.row.key} deleted.${stale.length > 0 ? ` Now stale: ${stale.join(', ')}.` : ''}`);
    } catch (e) {
      setError(e);
      if (e instanceof ApiError && e.code === 'secret.in_use') setInUse(true);
    }
  };
  return (
    <div className="card" role="dialog" aria-label={`Delete ${props.row.key}`}>
      <h3>Delete {props.row.key}?</h3>
      {usage.loading ? (
        <p className="hint">Looking up the workloads that use it…</p>
      ) : users.length > 0 ? (
        <>
          <p>Used by {users.length} workload(s):</p>
          <ul className="used-by">
            {users.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </>
      ) : (
        <p>No workload uses it.</p>
      )}
      <ProblemBox error={error} />
      {!inUse && (
        <button type="button" className="danger" onClick={() => void remove(false)}>
          Delete
        </button>
      )}
      {inUse && (
        <>
          <label className="check">
            <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} />I understand:
            these workloads become stale and their next deployment fails.
          </label>
          <button type="button" className="danger" disabled={!confirmed} onClick={() => void remove(true)}>
            Delete anyway
          </button>
        </>
      )}{' '}
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
    </div>
  );
}
