import type { PolicyFacts } from './access-policy.js';
import type { BundleRepo, DomainRepo, GrantRepo } from './ports.js';

/** The facts a decision needs, read from the repositories. */
export function repoFacts(repos: { domains: DomainRepo; grants: GrantRepo; bundles: BundleRepo }): PolicyFacts {
  return {
    domainExists: async (domain) => (await repos.domains.get(domain)) !== undefined,
    rolesOf: (domain, principal, groups) => repos.grants.rolesOf(domain, principal, groups),
    bundleAccess: (domain, bundle, principal, groups) => repos.bundles.access(domain, bundle, principal, groups),
  };
}

/**
 * Facts that look each thing up once: a CheckBatch of many references by one
 * principal in one domain asks the database once per distinct question.
 */
export function memoFacts(facts: PolicyFacts): PolicyFacts {
  const seen = new Map<string, Promise<unknown>>();
  function once<T>(key: unknown[], load: () => Promise<T>): Promise<T> {
    const k = JSON.stringify(key);
    let p = seen.get(k) as Promise<T> | undefined;
    if (p === undefined) {
      p = load();
      seen.set(k, p);
    }
    return p;
  }
  return {
    domainExists: (domain) => once(['d', domain], () => facts.domainExists(domain)),
    rolesOf: (domain, principal, groups) =>
      once(['r', domain, principal, [...groups].sort()], () => facts.rolesOf(domain, principal, groups)),
    bundleAccess: (domain, bundle, principal, groups) =>
      once(['b', domain, bundle, principal, [...groups].sort()], () =>
        facts.bundleAccess(domain, bundle, principal, groups),
      ),
  };
}
