// A managed secret's dialogs below the secrets table: its rotation policy,
// its recoverable delete (the recovery window asked for), and the list of
// deleted secrets that can still be restored.
import { useState, type FormEvent } from 'react';
import { api } from '../api/latchkey-api.js';
import { DeleteControls } from '../components/delete-controls.js';
import { Grid } from '../components/grid.js';
import { ProblemBox } from '../components/problem-box.js';
import { useLoad } from '../components/use-load.js';
import { when } from '../components/when.js';
import type { Row } from './secrets-page.js';

/** What every dialog of a secrets-table row is given. */
interface RowDialogProps {
  domain: string | undefined;
  row: Row;
  onDone: (text: string) => void;
  onCancel: () => void;
}

export function RotationPolicyForm(props: RowDialogProps) {
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

/** The catalog's own bounds of a delete's recovery window (its default is the installation's, 7 unless set). */
const MAX_RECOVERY_DAYS = 30;

/**
 * The recovery window typed in: undefined for the installation's default
 * (empty), a whole number of days from 0 to 30, or why not.
 */
export function recoveryDaysOf(text: string): { days: number | undefined } | { error: string } {
  const t = text.trim();
  if (t === '') return { days: undefined };
  if (!/^\d{1,2}$/.test(t) || Number(t) > MAX_RECOVERY_DAYS) {
    return {
      error: `Recovery window "${t.slice(0, 20)}": give a whole number of days from 0 to ${MAX_RECOVERY_DAYS}, or leave it empty for the default (7 days unless this installation sets another).`,
    };
  }
  return { days: Number(t) };
}

/** A delete the catalog refuses while workloads reference the key. */
const IN_USE = {
  inUseCode: 'secret.in_use',
  consequence: 'these workloads become stale and their next deployment fails.',
} as const;

/**
 * Delete: lists the workloads that use the secret, asks for the recovery
 * window, and says what it means; a forced delete needs a second, explicit
 * confirmation.
 */
export function DeleteSecret(props: RowDialogProps) {
  const [days, setDays] = useState('');
  // The workloads that use it, named (the inventory of that one key).
  const domain = props.domain;
  const usage = useLoad(
    async () => (domain === undefined ? [] : ((await api.inventory(domain, props.row.key))[0]?.workloads ?? [])),
    [domain, props.row.key],
  );
  const users = usage.data ?? [];
  const run = async (force: boolean) => {
    // A bad window is refused here, before any call, and shown where the gateway's refusals are.
    const window = recoveryDaysOf(days);
    if ('error' in window) throw new Error(window.error);
    const r = await api.deleteSecret(props.domain, props.row.key, force, window.days);
    const stale = r?.dependents ?? [];
    const until = r?.recoverUntil ?? '';
    props.onDone(
      `Secret ${props.row.key} deleted. ${
        until === ''
          ? 'Its values were destroyed: it cannot be restored.'
          : `It can be restored (Deleted secrets) until ${when(until)}; its values are destroyed then.`
      }${stale.length > 0 ? ` Now stale: ${stale.join(', ')}.` : ''}`,
    );
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
      <label>
        Recovery window (days, 0 to {MAX_RECOVERY_DAYS})
        <input
          name="recovery-days"
          type="number"
          min={0}
          max={MAX_RECOVERY_DAYS}
          step={1}
          inputMode="numeric"
          value={days}
          placeholder="7 (the default)"
          onChange={(e) => setDays(e.target.value)}
        />
      </label>
      <p className="hint">
        A deleted secret can be restored, as it was, until its recovery window ends; meanwhile a deployment that
        references it fails (secret.deleted), and then its values are destroyed in the backend. Empty: this
        installation&apos;s default (7 days unless set otherwise). 0 destroys the values now: that cannot be undone.
      </p>
      <DeleteControls {...IN_USE} run={run} onCancel={props.onCancel} />
    </div>
  );
}

/** The scope's deleted secrets that can still be restored, with when each is destroyed; Restore. */
export function DeletedSecrets(props: {
  domain: string | undefined;
  /** Changes whenever the page changed something (a delete): the list loads again. */
  reloadKey: number;
  onDone: (text: string) => void;
}) {
  const load = useLoad(() => api.deletedSecrets(props.domain), [props.domain, props.reloadKey]);
  const [error, setError] = useState<unknown>();
  const restore = async (key: string) => {
    setError(undefined);
    try {
      const s = await api.restoreSecret(props.domain, key);
      props.onDone(`Secret ${key} restored, as it was: version ${String(s.version ?? '')} is current again.`);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="card" aria-label="Deleted secrets">
      <h3>Deleted secrets</h3>
      <p className="hint">Restorable until the time shown; after it, their values are destroyed in the backend.</p>
      <ProblemBox error={error ?? load.error} />
      <Grid
        label="Deleted secrets"
        columns={['Key', 'Deleted', 'Destroyed after', 'Actions']}
        empty={load.data?.length === 0 ? 'No deleted secret can be restored.' : undefined}
      >
        {(load.data ?? []).map((d) => (
          <tr key={d.secret?.key} data-deleted-key={d.secret?.key}>
            <td>
              <code>{d.secret?.key}</code>
            </td>
            <td>{when(d.deletedAt)}</td>
            <td data-recover-until={d.recoverUntil}>{when(d.recoverUntil)}</td>
            <td className="actions">
              <button type="button" onClick={() => void restore(d.secret?.key ?? '')}>
                Restore
              </button>
            </td>
          </tr>
        ))}
      </Grid>
    </div>
  );
}
