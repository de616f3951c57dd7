// Inventory: every secret of the domain with when it last changed, who uses
// it, whether nothing does, and whether its rotation is due.
import { api } from '../api/latchkey-api.js';
import { Grid } from '../components/grid.js';
import { ProblemBox } from '../components/problem-box.js';
import { useLoad } from '../components/use-load.js';
import { when } from '../components/when.js';

export function InventoryPage({ domain }: { domain: string }) {
  const load = useLoad(() => api.inventory(domain), [domain]);
  const entries = load.data ?? [];
  const unused = entries.filter((e) => e.unreferenced === true).length;
  const due = entries.filter((e) => e.rotationDue === true).length;
  return (
    <section>
      <h2>Inventory: {domain}</h2>
      <ProblemBox error={load.error} />
      <div className="tiles">
        <div className="tile">
          <strong>{entries.length}</strong> secrets
        </div>
        <div className="tile">
          <strong>{unused}</strong> unused
        </div>
        <div className={due > 0 ? 'tile warn' : 'tile'}>
          <strong>{due}</strong> rotation due
        </div>
      </div>
      <Grid label="Inventory" columns={['Key', 'Scope', 'Version', 'Last modified', 'By', 'Used by', 'Rotation']}>
        {entries.map((e) => (
          <tr key={`${e.secret?.scope?.global === true ? 'global' : domain}:${e.secret?.key ?? ''}`}>
            <td>
              <code>{e.secret?.key}</code>
            </td>
            <td>{e.secret?.scope?.global === true ? 'global' : (e.secret?.scope?.domain ?? domain)}</td>
            <td>{String(e.secret?.version ?? '')}</td>
            <td>{when(e.secret?.updatedAt)}</td>
            <td>{e.secret?.updatedBy}</td>
            <td>
              {e.unreferenced === true ? (
                <span className="badge">unused</span>
              ) : (
                `${String(e.workloadCount ?? 0)}: ${(e.workloads ?? []).join(', ')}`
              )}
            </td>
            <td>
              {e.rotationDue === true && <span className="badge stale">rotation due</span>}{' '}
              {e.rotationDueAt ? `due ${when(e.rotationDueAt)}` : ''}
            </td>
          </tr>
        ))}
      </Grid>
    </section>
  );
}
