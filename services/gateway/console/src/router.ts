// A tiny history router: /console/<domain>/<page>. The domain lives in the
// URL (not in the browser's storage), so a link names where it points.
import { useEffect, useState } from 'react';

export const PAGES = ['secrets', 'global', 'vault', 'workloads', 'inventory', 'audit'] as const;
export type Page = (typeof PAGES)[number];

export interface Route {
  domain: string | undefined;
  page: Page;
}

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts[0] === 'console') parts.shift();
  const domain = parts[0] !== undefined ? decodeURIComponent(parts[0]) : undefined;
  const page = (PAGES as readonly string[]).includes(parts[1] ?? '') ? (parts[1] as Page) : 'secrets';
  return { domain, page };
}

export const routePath = (r: Route): string =>
  r.domain === undefined ? '/console/' : `/console/${encodeURIComponent(r.domain)}/${r.page}`;

const listeners = new Set<() => void>();

export function navigate(r: Route, replace = false): void {
  const path = routePath(r);
  if (path !== window.location.pathname) {
    if (replace) window.history.replaceState(null, '', path);
    else window.history.pushState(null, '', path);
  }
  for (const l of listeners) l();
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.pathname));
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return route;
}
