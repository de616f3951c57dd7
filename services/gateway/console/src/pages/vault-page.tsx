// Vault Integrations: read-only connections to a team's own HashiCorp Vault.
// Credentials are write-only: typed into an input React never holds, sent,
// never shown or returned.
import { useRef, useState, type FormEvent } from 'react';
import { api } from '../api/latchkey-api.js';
import type { VaultIntegration, VaultSettingsInput, VaultTestResult } from '../api/types.js';
import { DeleteControls } from '../components/delete-controls.js';
import { FormEnd, TextField } from '../components/form-parts.js';
import { Grid, Notice } from '../components/grid.js';
import { ProblemBox } from '../components/problem-box.js';
import { TestOutcome } from '../components/test-outcome.js';
import { useLoad } from '../components/use-load.js';
import { when } from '../components/when.js';

type Mode = { kind: 'list' } | { kind: 'view' | 'configure'; vault: VaultIntegration } | { kind: 'create' };

export function VaultPage({ domain }: { domain: string }) {
  const load = useLoad(() => api.vaults(domain), [domain]);
  const [mode, setMode] = useState<Mode>({ kind: 'list' });
  const [notice, setNotice] = useState('');
  const [deleting, setDeleting] = useState<VaultIntegration>();
  const done = (text: string) => {
    setNotice(text);
    setMode({ kind: 'list' });
    load.reload();
  };
  return (
    <section>
      <h2>Vault Integrations: {domain}</h2>
      <p className="hint">Read-only: Latchkey never writes to these Vaults. Manage their data with your Vault tools.</p>
      <Notice text={notice} />
      <ProblemBox error={load.error} />
      {mode.kind === 'list' && (
        <button type="button" onClick={() => setMode({ kind: 'create' })}>
          + New Vault
        </button>
      )}
      <Grid
        label="Vault integrations"
        columns={['Name', 'Host', 'Path', 'Namespace', 'Actions']}
        empty={load.data?.length === 0 ? 'No Vault integration in this domain.' : undefined}
      >
        {(load.data ?? []).map((v) => (
          <tr key={v.id} data-name={v.name}>
            <td>
              <button type="button" className="link" onClick={() => setMode({ kind: 'view', vault: v })}>
                {v.name}
              </button>
            </td>
            <td>{v.host}</td>
            <td>
              <code>{v.path}</code>
            </td>
            <td>{v.namespace ?? ''}</td>
            <td className="actions">
              <button type="button" onClick={() => setMode({ kind: 'view', vault: v })}>
                View
              </button>
              <button type="button" onClick={() => setMode({ kind: 'configure', vault: v })}>
                Configure
              </button>
              <button type="button" className="danger" onClick={() => setDeleting(v)}>
                Delete
              </button>
            </td>
          </tr>
        ))}
      </Grid>
      {mode.kind === 'view' && <VaultDetails vault={mode.vault} onClose={() => setMode({ kind: 'list' })} />}
      {(mode.kind === 'create' || mode.kind === 'configure') && (
        <VaultForm
          domain={domain}
          vault={mode.kind === 'configure' ? mode.vault : undefined}
          onDone={done}
          onCancel={() => setMode({ kind: 'list' })}
        />
      )}
      {deleting !== undefined && (
        <DeleteVault domain={domain} vault={deleting} onDone={done} onClose={() => setDeleting(undefined)} />
      )}
    </section>
  );
}

function VaultDetails({ vault, onClose }: { vault: VaultIntegration; onClose: () => void }) {
  const rows: [string, string][] = [
    ['Configuration ID', vault.id],
    ['Name', vault.name],
    ['Host', vault.host],
    ['HashiCorp namespace', vault.namespace ?? ''],
    ['Bundle', vault.bundle ?? ''],
    ['Path', vault.path],
    ['Auth method', vault.authMethod ?? ''],
    ['Last modified', `${when(vault.updatedAt)} ${vault.updatedBy ? `by ${vault.updatedBy}` : ''}`],
  ];
  return (
    <div className="card" aria-label={`Vault ${vault.name}`}>
      <h3>{vault.name}</h3>
      <dl className="details">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <button type="button" onClick={onClose}>
        Close
      </button>
    </div>
  );
}

function VaultTestOutcome({ result }: { result: VaultTestResult | undefined }) {
  if (result === undefined) return null;
  return (
    <TestOutcome
      ok={result.outcome === 'ok'}
      code={result.outcome}
      okText={`Connection OK${result.keys !== undefined ? `: ${String(result.keys)} key(s) readable` : ''}`}
      reason={result.message ?? ''}
    />
  );
}

function VaultForm(props: {
  domain: string;
  vault: VaultIntegration | undefined;
  onDone: (text: string) => void;
  onCancel: () => void;
}) {
  const v = props.vault;
  const bundles = useLoad(() => api.bundles(props.domain), [props.domain]);
  const [name, setName] = useState(v?.name ?? '');
  const [bundle, setBundle] = useState(v?.bundle ?? '');
  const [host, setHost] = useState(v?.host ?? '');
  const [path, setPath] = useState(v?.path ?? '');
  const [namespace, setNamespace] = useState(v?.namespace ?? '');
  const [authMethod, setAuthMethod] = useState<'token' | 'approle'>(v?.authMethod === 'approle' ? 'approle' : 'token');
  const [roleId, setRoleId] = useState(v?.roleId ?? '');
  const credRef = useRef<HTMLInputElement>(null);
  const [tested, setTested] = useState<VaultTestResult>();
  const [error, setError] = useState<unknown>();

  const settings = (): VaultSettingsInput => {
    const credential = credRef.current?.value ?? '';
    return {
      host: host.trim(),
      path: path.trim(),
      ...(namespace.trim() !== '' ? { namespace: namespace.trim() } : {}),
      authMethod,
      ...(authMethod === 'approle' ? { roleId: roleId.trim() } : {}),
      ...(credential !== '' ? { credential } : {}),
    };
  };

  const test = async () => {
    setTested(undefined);
    setError(undefined);
    try {
      const s = settings();
      // A saved integration whose credential is not retyped is tested as saved.
      const r =
        v !== undefined && s.credential === undefined
          ? await api.testSavedVault(props.domain, v.id)
          : await api.testVault(props.domain, s);
      setTested(r);
    } catch (e) {
      setError(e);
    }
  };

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setError(undefined);
    try {
      if (v === undefined) {
        const created = await api.createVault(props.domain, name.trim(), bundle, settings());
        props.onDone(`Vault integration ${created.name} created (id ${created.id}).`);
      } else {
        const updated = await api.updateVault(props.domain, v.id, { name: name.trim(), ...settings() });
        props.onDone(`Vault integration ${updated.name ?? name} updated.`);
      }
      if (credRef.current) credRef.current.value = '';
    } catch (e) {
      setError(e);
    }
  };

  return (
    <form className="card" onSubmit={(ev) => void submit(ev)} aria-label={v ? 'Configure Vault' : 'New Vault'}>
      <h3>{v ? `Configure ${v.name}` : 'New Vault integration'}</h3>
      <TextField label="Name" name="vault-name" value={name} onChange={setName} required />
      <label>
        Resource bundle
        <select
          name="vault-bundle"
          value={bundle}
          onChange={(e) => setBundle(e.target.value)}
          disabled={v !== undefined}
          required
        >
          <option value="">(choose a bundle)</option>
          {(bundles.data ?? []).map((b) => (
            <option key={b.name} value={b.name}>
              {b.name}
            </option>
          ))}
          {v?.bundle !== undefined && !(bundles.data ?? []).some((b) => b.name === v.bundle) && (
            <option value={v.bundle}>{v.bundle}</option>
          )}
        </select>
      </label>
      {v !== undefined && (
        <p className="hint">The bundle is fixed after creation: for other access control, create a new integration.</p>
      )}
      <TextField
        label="Host"
        name="vault-host"
        value={host}
        onChange={setHost}
        placeholder="https://vault.example.com:8200"
        required
      />
      <TextField
        label="Path (KV v2, with /data/)"
        name="vault-path"
        value={path}
        onChange={setPath}
        placeholder="/v1/secret/data/production"
        required
      />
      <TextField
        label="HashiCorp namespace (optional)"
        name="vault-namespace"
        value={namespace}
        onChange={setNamespace}
      />
      <label>
        Authentication method
        <select
          name="vault-auth"
          value={authMethod}
          onChange={(e) => setAuthMethod(e.target.value === 'approle' ? 'approle' : 'token')}
        >
          <option value="token">Token</option>
          <option value="approle">App role</option>
        </select>
      </label>
      {authMethod === 'approle' && (
        <TextField label="Role ID" name="vault-role-id" value={roleId} onChange={setRoleId} />
      )}
      <label>
        {authMethod === 'approle' ? 'Secret ID' : 'Token'}
        {v !== undefined ? ' (leave empty to keep the saved one)' : ''}
        <input
          ref={credRef}
          name="vault-credential"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required={v === undefined}
        />
      </label>
      <div className="row">
        <button type="button" onClick={() => void test()}>
          Test connection
        </button>{' '}
        <VaultTestOutcome result={tested} />
      </div>
      <FormEnd error={error} submit={v ? 'Update' : 'Create'} onCancel={props.onCancel} />
    </form>
  );
}

/** A delete the catalog refuses while workloads reference the integration's keys. */
const IN_USE = {
  inUseCode: 'vault.integration_in_use',
  consequence: 'the workloads that reference its keys become stale and their next deployment fails.',
} as const;

function DeleteVault(props: {
  domain: string;
  vault: VaultIntegration;
  onDone: (text: string) => void;
  /** Closes the dialog: on Cancel, and before `onDone` once deleted. */
  onClose: () => void;
}) {
  const remove = async (force: boolean) => {
    await api.deleteVault(props.domain, props.vault.id, force);
    props.onClose();
    props.onDone(`Vault integration ${props.vault.name} deleted (nothing was deleted in Vault itself).`);
  };
  return (
    <div className="card" role="dialog" aria-label={`Delete ${props.vault.name}`}>
      <h3>Delete Vault integration {props.vault.name}?</h3>
      <p>Workloads that reference its keys are checked first.</p>
      <DeleteControls {...IN_USE} run={remove} onCancel={props.onClose} />
    </div>
  );
}
