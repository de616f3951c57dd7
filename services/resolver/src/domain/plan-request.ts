import { DOMAIN_NAME, type PlanRequest } from '@latchkey/events';

/** What is wrong with a plan request from the bus, if anything (it comes from a deployer, but is checked). */
export function planRequestProblem(req: PlanRequest): string | undefined {
  if (typeof req !== 'object' || req === null) return 'the request is not a JSON object';
  if (req.mode !== 'check' && req.mode !== 'dry_run') return 'mode must be check or dry_run';
  if (typeof req.domain !== 'string' || !DOMAIN_NAME.test(req.domain)) return 'domain is not a domain name';
  if (typeof req.principal !== 'string' || req.principal === '') return 'principal is missing';
  if (!Array.isArray(req.references)) return 'references must be a list';
  return undefined;
}
