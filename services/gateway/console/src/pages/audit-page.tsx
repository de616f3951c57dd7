// Audit: who did what to which resource, allowed or denied; never a value.
import { api } from '../api/latchkey-api.js';
import { Grid } from '../components/grid.js';
import { ProblemBox } from '../components/problem-box.js';
import { useLoad } from '../components/use-load.js';
import { when } from '../components/when.js';

export function AuditPage({ domain }: { domain: string }) {
  const load = useLoad(() => api.audit(domain, 200), [domain]);
  return (
    <section>
      <h2>Audit: {domain}</h2>
      <p className="hint">The newest 200 records of the domain (owners and platform admins).</p>
      <ProblemBox error={load.error} />
      <button type="button" onClick={load.reload}>
        Refresh
      </button>
      <Grid label="Audit" columns={['When', 'Service', 'Actor', 'Action', 'Resource', 'Outcome', 'Reason']}>
        {(load.data ?? []).map((r) => (
          <tr key={r.id} className={r.outcome === 'deny' || r.outcome === 'error' ? 'denied' : ''}>
            <td>{when(r.at)}</td>
            <td>{r.service}</td>
            <td>{r.actor}</td>
            <td>
              <code>{r.action}</code>
            </td>
            <td>{r.resource}</td>
            <td>{r.outcome}</td>
            <td>{r.reason}</td>
          </tr>
        ))}
      </Grid>
    </section>
  );
}
