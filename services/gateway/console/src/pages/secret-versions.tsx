// A managed secret's kept versions: number, created, by, state, the live
// deployments that hold each, the kept count; rollback to one (confirmed:
// it makes a new version) and disable/enable. Metadata only: the catalog
// copies a rollback's value inside itself, and no answer here holds one.
import { useState } from 'react';
import { api } from '../api/latchkey-api.js';
import type { SecretVersion } from '../api/types.js';
import { Grid } from '../components/grid.js';
import { ProblemBox } from '../components/problem-box.js';
import { useLoad } from '../components/use-load.js';
import { when } from '../components/when.js';

function stateOf(v: SecretVersion): string {
  const by = v.state === 'disabled' && v.disabledBy ? ` by ${v.disabledBy} ${when(v.disabledAt)}` : '';
  const copy = (v.rolledBackFrom ?? 0) > 0 ? ` (rollback: the value of version ${String(v.rolledBackFrom)})` : '';
  return `${v.state}${by}${copy}`;
}

export function SecretVersionsPanel(props: {
  domain: string | undefined;
  secretKey: string;
  editable: boolean;
  /** Changes whenever the page changed something: the versions load again. */
  reloadKey: number;
  /** A change was made here: `text` says what. */
  onChanged: (text: string) => void;
  onClose: () => void;
}) {
  const { domain, secretKey: key } = props;
  const load = useLoad(() => api.secretVersions(domain, key), [domain, key, props.reloadKey]);
  const [error, setError] = useState<unknown>();
  const [rollingBack, setRollingBack] = useState<number>();
  const versions = load.data?.versions ?? [];
  const newest = Math.max(0, ...versions.map((v) => v.version));

  const act = async (fn: () => Promise<string>) => {
    setError(undefined);
    try {
      props.onChanged(await fn());
    } catch (e) {
      setError(e);
    }
  };
  const rollback = (to: number) =>
    act(async () => {
      const s = await api.rollbackSecret(domain, key, to);
      setRollingBack(undefined);
      return `Secret ${key} is now at version ${String(s.version ?? '')}, with the value of version ${to}. Workloads that hold other versions are marked stale.`;
    });
  const setState = (v: SecretVersion, disabled: boolean) =>
    act(async () => {
      const r = await api.setVersionState(domain, key, v.version, disabled);
      return `Version ${r.version} of ${key} is ${r.state}${
        disabled ? ': it is kept, but no deployment may resolve it' : ''
      }.`;
    });

  return (
    <div className="card" role="region" aria-label={`Versions of ${key}`}>
      <h3>Versions of {key}</h3>
      <ProblemBox error={error ?? load.error} />
      <Grid
        label={`Versions of ${key}`}
        columns={['Version', 'Created', 'By', 'State', 'Held by (live deployments)', props.editable && 'Actions']}
        empty={load.data !== undefined && versions.length === 0 ? 'No version is kept.' : undefined}
      >
        {versions.map((v) => (
          <tr key={v.version} data-version={v.version} data-state={v.state} data-current={String(v.current === true)}>
            <td>
              {v.version}
              {v.current === true ? ' (current)' : ''}
            </td>
            <td>{when(v.createdAt)}</td>
            <td>{v.createdBy ?? ''}</td>
            <td>{stateOf(v)}</td>
            <td>{(v.heldBy ?? []).length === 0 ? '-' : (v.heldBy ?? []).join(', ')}</td>
            {props.editable && (
              <td className="actions">
                {v.current !== true && (
                  <button
                    type="button"
                    disabled={v.state === 'disabled'}
                    title={v.state === 'disabled' ? 'Enable it first: a disabled version cannot be copied' : undefined}
                    onClick={() => setRollingBack(v.version)}
                  >
                    Roll back to {v.version}
                  </button>
                )}
                <button type="button" onClick={() => void setState(v, v.state !== 'disabled')}>
                  {v.state === 'disabled' ? 'Enable' : 'Disable'}
                </button>
              </td>
            )}
          </tr>
        ))}
      </Grid>
      {load.data?.kept !== undefined && (
        <p className="hint" data-testid="kept">
          {load.data.kept} versions are kept per secret; older ones are destroyed.
        </p>
      )}
      {load.data?.holdersKnown === false && (
        <p className="hint">The deployer could not be asked which deployments hold which version.</p>
      )}
      <p className="hint">
        A disabled version is kept, but no deployment may resolve it: a deployment that needs it fails
        (secret.version_disabled) until it is enabled again.
      </p>
      {rollingBack !== undefined && (
        <div className="card" role="dialog" aria-label={`Roll back ${key}`}>
          <p>
            Roll back {key} to version {rollingBack}? This makes a new version ({newest + 1}) with the value of version{' '}
            {rollingBack}, copied inside the catalog; version {rollingBack} and the others stay as they are. Workloads
            that hold any other version become stale until they are redeployed.
          </p>
          <button type="button" onClick={() => void rollback(rollingBack)}>
            Roll back
          </button>{' '}
          <button type="button" onClick={() => setRollingBack(undefined)}>
            Cancel
          </button>
        </div>
      )}
      <button type="button" onClick={props.onClose}>
        Close
      </button>
    </div>
  );
}
