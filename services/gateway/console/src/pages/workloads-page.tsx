// Workloads: kind, status and what made one stale; create or edit one of
// each seed kind; deploy, dry run, redeploy, stop, logs (redacted by the
// deployer before any line is kept).
import { useEffect, useState } from 'react';
import { api } from '../api/latchkey-api.js';
import type { Deployment, DeploymentPlan, Logs, PlannedReference, StorageTestResult, Workload } from '../api/types.js';
import { Grid, Notice } from '../components/grid.js';
import { ProblemBox } from '../components/problem-box.js';
import { TestOutcome } from '../components/test-outcome.js';
import { useLoad } from '../components/use-load.js';
import { when } from '../components/when.js';
import { WorkloadEditor } from './workload-editor.js';
import { formOf, KIND_LABELS, type WorkloadForm } from './workload-form.js';

type Output =
  | { kind: 'deployment'; workload: string; deployment: Deployment }
  | { kind: 'plan'; workload: string; plan: DeploymentPlan }
  | { kind: 'test'; workload: string; test: StorageTestResult }
  | { kind: 'logs'; workload: string; logs: Logs }
  | { kind: 'text'; workload: string; text: string };

const statusOf = (w: Workload): string => w.liveDeployment?.status ?? w.lastDeployment?.status ?? 'never deployed';

function StaleBadge({ w }: { w: Workload }) {
  if (w.stale !== true) return null;
  const what = (w.staleReasons ?? [])
    .map(
      (r) =>
        `${r.key} (${r.scope ?? ''}) ${r.change ?? 'changed'}: v${String(r.deployedVersion ?? '?')} → ${
          Number(r.currentVersion ?? 0) === 0 ? 'deleted' : `v${String(r.currentVersion)}`
        }`,
    )
    .join('; ');
  return (
    <span className="badge stale" data-testid="stale-badge" title={what}>
      stale: {what || 'a secret changed'}
    </span>
  );
}

/** A STORAGE_CONFIG is a set of credentials, not a process: it is tested, never deployed. */
const isStorage = (w: Workload): boolean => w.kind === 'STORAGE_CONFIG';
const runs = (w: Workload): boolean => !isStorage(w);

/**
 * The buttons of a workload's row after Edit, in order: the workloads each is
 * for, what it asks the gateway, and what it shows.
 */
const ROW_ACTIONS: readonly (readonly [
  string,
  (w: Workload) => boolean,
  (domain: string, w: Workload) => Promise<Output | string>,
])[] = [
  [
    'Test connection',
    isStorage,
    async (d, w) => ({ kind: 'test', workload: w.name, test: await api.testStorage(d, w.name) }),
  ],
  ['Deploy', runs, async (d, w) => ({ kind: 'deployment', workload: w.name, deployment: await api.deploy(d, w.name) })],
  ['Dry run', () => true, async (d, w) => ({ kind: 'plan', workload: w.name, plan: await api.dryRun(d, w.name) })],
  ['Redeploy', runs, async (d, w) => api.redeploy(d, w.name).then(() => `Redeploying ${w.name}.`)],
  ['Stop', runs, async (d, w) => api.stop(d, w.name).then(() => `Stopping ${w.name}.`)],
  ['Logs', runs, async (d, w) => ({ kind: 'logs', workload: w.name, logs: await api.logs(d, w.name) })],
];

function specOf(w: Workload): Record<string, unknown> | undefined {
  if (w.spec !== undefined) return w.spec;
  if (w.specJson === undefined || w.specJson === '') return undefined;
  try {
    return JSON.parse(w.specJson) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function WorkloadsPage({ domain }: { domain: string }) {
  const [staleOnly, setStaleOnly] = useState(false);
  const load = useLoad(
    async () => (await api.workloads(domain)).filter((w) => !staleOnly || w.stale === true),
    [domain, staleOnly],
  );
  const [editing, setEditing] = useState<{ initial: WorkloadForm | undefined } | undefined>();
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<unknown>();
  const [output, setOutput] = useState<Output>();
  const [confirmDelete, setConfirmDelete] = useState<string>();
  const { reload } = load;

  // Statuses move on by themselves (pending → deployed, a rotation marks stale): keep the list current.
  useEffect(() => {
    const timer = window.setInterval(reload, 2000);
    return () => window.clearInterval(timer);
  }, [reload]);

  const act = async (what: string, fn: () => Promise<Output | string>) => {
    setError(undefined);
    try {
      const r = await fn();
      if (typeof r === 'string') setNotice(r);
      else setOutput(r);
      reload();
    } catch (e) {
      setError(e);
      setNotice(`${what} refused.`);
    }
  };

  const edit = async (w: Workload) => {
    setError(undefined);
    try {
      const spec = specOf(w) ?? (await api.workload(w.kind, domain, w.name));
      setEditing({ initial: formOf(w.kind, { ...spec, name: w.name }) });
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section>
      <h2>Workloads: {domain}</h2>
      <Notice text={notice} />
      <ProblemBox error={error ?? load.error} />
      <div className="row">
        {editing === undefined && (
          <button type="button" onClick={() => setEditing({ initial: undefined })}>
            New workload
          </button>
        )}{' '}
        <label className="check">
          <input type="checkbox" checked={staleOnly} onChange={(e) => setStaleOnly(e.target.checked)} />
          Stale only
        </label>
      </div>
      {editing !== undefined && (
        <WorkloadEditor
          domain={domain}
          initial={editing.initial}
          onDone={(text) => {
            setEditing(undefined);
            setNotice(text);
            reload();
          }}
          onCancel={() => setEditing(undefined)}
        />
      )}
      <Grid
        label="Workloads"
        columns={['Name', 'Kind', 'Status', 'Stale', 'Updated', 'Actions']}
        empty={load.data?.length === 0 ? (staleOnly ? 'No stale workloads.' : 'No workloads yet.') : undefined}
      >
        {(load.data ?? []).map((w) => (
          <tr key={w.name} data-workload={w.name} data-status={statusOf(w)} data-stale={String(w.stale === true)}>
            <td>{w.name}</td>
            <td>{KIND_LABELS[w.kind] ?? w.kind}</td>
            <td className="status">{statusOf(w)}</td>
            <td>
              <StaleBadge w={w} />
            </td>
            <td>{when(w.updatedAt)}</td>
            <td className="actions">
              <button type="button" onClick={() => void edit(w)}>
                Edit
              </button>
              {ROW_ACTIONS.filter(([, isFor]) => isFor(w)).map(([label, , run]) => (
                <button key={label} type="button" onClick={() => void act(label, () => run(domain, w))}>
                  {label}
                </button>
              ))}
              {confirmDelete === w.name ? (
                <button
                  type="button"
                  className="danger"
                  onClick={() =>
                    void act('Delete', async () => {
                      setConfirmDelete(undefined);
                      await api.deleteWorkload(w.kind, domain, w.name);
                      return `Workload ${w.name} deleted.`;
                    })
                  }
                >
                  Confirm delete
                </button>
              ) : (
                <button type="button" className="danger" onClick={() => setConfirmDelete(w.name)}>
                  Delete
                </button>
              )}
            </td>
          </tr>
        ))}
      </Grid>
      {output !== undefined && <OutputPanel output={output} onClose={() => setOutput(undefined)} />}
    </section>
  );
}

function OutputPanel({ output, onClose }: { output: Output; onClose: () => void }) {
  return (
    <div className="card" aria-label={`Output of ${output.workload}`} data-output={output.kind}>
      <h3>
        {output.workload}:{' '}
        {output.kind === 'plan' ? 'dry run' : output.kind === 'test' ? 'connection test' : output.kind}
      </h3>
      {output.kind === 'deployment' && (
        <p>
          Deployment <code>{output.deployment.id}</code>: {output.deployment.status}
          {(output.deployment.reasons ?? []).length > 0 && ` (${(output.deployment.reasons ?? []).join('; ')})`}
        </p>
      )}
      {output.kind === 'plan' && (
        <>
          <p>{output.plan.ok === true ? 'Every reference would resolve.' : 'Some references would not resolve.'}</p>
          <References of={output.plan} />
        </>
      )}
      {output.kind === 'test' && <StorageTest result={output.test} />}
      {output.kind === 'logs' && (
        <pre className="logs" data-testid="logs">
          {(output.logs.lines ?? []).map((l) => `${l.stream ?? ''} ${l.line}`).join('\n') || '(no output yet)'}
        </pre>
      )}
      {output.kind === 'text' && <p>{output.text}</p>}
      <button type="button" onClick={onClose}>
        Close
      </button>
    </div>
  );
}

/** A storage config's connection test: ok or the precise reason, what was tried, the references' versions. */
function StorageTest({ result }: { result: StorageTestResult }) {
  const tried = `endpoint ${result.endpoint || 'AWS (the region’s)'}, region ${result.region ?? ''}, bucket ${result.bucket ?? ''}`;
  return (
    <>
      <p>
        <TestOutcome
          ok={result.ok === true}
          code={result.code ?? ''}
          okText={`Connection OK (HTTP ${String(result.httpStatus ?? '')})`}
          reason={result.message ?? ''}
        />
      </p>
      <p className="hint">Tried: {tried}. Nothing was started.</p>
      <References of={result} />
    </>
  );
}

/** Each reference as it resolved (its scope and version) or why not, then the warnings. */
function References({ of }: { of: { references?: PlannedReference[]; warnings?: string[] } }) {
  return (
    <>
      <ul>
        {(of.references ?? []).map((r, i) => (
          <li key={i}>
            <code>{r.key}</code> ({r.sourceType ?? ''} {r.scope ?? ''}){' '}
            {r.ok === true ? `ok, version ${String(r.version ?? '')}` : `${r.code ?? ''}: ${r.message ?? ''}`}
          </li>
        ))}
      </ul>
      {(of.warnings ?? []).map((w) => (
        <p key={w} className="hint">
          {w}
        </p>
      ))}
    </>
  );
}
