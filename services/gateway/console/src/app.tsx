// The console's frame: who is signed in, the domain switcher, the pages.
import { useEffect } from 'react';
import { ApiError } from './api/http.js';
import { api } from './api/latchkey-api.js';
import { ProblemBox } from './components/problem-box.js';
import { useLoad } from './components/use-load.js';
import { AuditPage } from './pages/audit-page.js';
import { InventoryPage } from './pages/inventory-page.js';
import { SecretsPage } from './pages/secrets-page.js';
import { VaultPage } from './pages/vault-page.js';
import { WorkloadsPage } from './pages/workloads-page.js';
import { navigate, useRoute, type Page } from './router.js';

const NAV: [Page, string][] = [
  ['secrets', 'Domain Secrets'],
  ['global', 'Global Secrets'],
  ['vault', 'Vault Integrations'],
  ['workloads', 'Workloads'],
  ['inventory', 'Inventory'],
  ['audit', 'Audit'],
];

function SignedOut() {
  return (
    <main className="signed-out">
      <h1>Latchkey</h1>
      <p>You are not signed in.</p>
      <p>
        Ask for a one-time login link: run <code>latchkey console --user YOUR_NAME</code> and open the link it prints.
      </p>
    </main>
  );
}

export function App() {
  const route = useRoute();
  const session = useLoad(() => api.session(), []);
  const domains = useLoad(() => api.domains(), []);
  const names = (domains.data ?? []).map((d) => d.name);
  const first = names[0];

  // No domain in the URL: go to the first one the caller may see.
  useEffect(() => {
    if (route.domain === undefined && first !== undefined) navigate({ domain: first, page: route.page }, true);
  }, [route.domain, route.page, first]);

  if (session.error instanceof ApiError && session.error.status === 401) return <SignedOut />;
  if (session.error !== undefined) return <ProblemBox error={session.error} />;
  const me = session.data;
  if (me === undefined) return <p className="hint">Loading…</p>;
  const domain = route.domain;

  const logout = async () => {
    await api.logout().catch(() => undefined);
    window.location.assign('/console/');
  };

  return (
    <div className="layout">
      <header>
        <h1>Latchkey</h1>
        <label className="switcher">
          Domain
          <select
            name="domain"
            aria-label="Domain"
            value={domain ?? ''}
            onChange={(e) => navigate({ domain: e.target.value, page: route.page })}
          >
            {domain !== undefined && !names.includes(domain) && <option value={domain}>{domain}</option>}
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <span className="who" data-testid="principal">
          {me.principal}
          {me.platformAdmin ? ' (platform admin)' : ''}
        </span>
        <button type="button" className="link" onClick={() => void logout()}>
          Sign out
        </button>
      </header>
      <nav>
        {NAV.map(([page, label]) => (
          <a
            key={page}
            href={domain === undefined ? '/console/' : `/console/${encodeURIComponent(domain)}/${page}`}
            className={route.page === page ? 'active' : ''}
            onClick={(e) => {
              e.preventDefault();
              if (domain !== undefined) navigate({ domain, page });
            }}
          >
            {label}
          </a>
        ))}
      </nav>
      <main>
        <ProblemBox error={domains.error} />
        {domain === undefined ? (
          <p className="hint">
            {domains.data !== undefined && names.length === 0
              ? 'You have no role in any domain yet: ask a domain owner or a platform admin for one.'
              : 'Loading…'}
          </p>
        ) : (
          <Page page={route.page} domain={domain} admin={me.platformAdmin} />
        )}
      </main>
    </div>
  );
}

function Page({ page, domain, admin }: { page: Page; domain: string; admin: boolean }) {
  switch (page) {
    case 'secrets':
      return <SecretsPage key={domain} domain={domain} current={domain} editable />;
    case 'global':
      return <SecretsPage key={`global:${domain}`} domain={undefined} current={domain} editable={admin} />;
    case 'vault':
      return <VaultPage key={domain} domain={domain} />;
    case 'workloads':
      return <WorkloadsPage key={domain} domain={domain} />;
    case 'inventory':
      return <InventoryPage key={domain} domain={domain} />;
    case 'audit':
      return <AuditPage key={domain} domain={domain} />;
  }
}
