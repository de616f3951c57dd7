import { DOMAIN_NAME, SECRET_KEY, type PlanRequest, type RuntimeReadRequest } from '@latchkey/events';

/** What is wrong with a plan request from the bus, if anything (it comes from a deployer, but is checked). */
export function planRequestProblem(req: PlanRequest): string | undefined {
  if (typeof req !== 'object' || req === null) return 'the request is not a JSON object';
  if (req.mode !== 'check' && req.mode !== 'dry_run' && req.mode !== 'connection_test') {
    return 'mode must be check, dry_run or connection_test';
  }
  if (req.mode === 'connection_test' && (typeof req.requestId !== 'string' || req.requestId === '')) {
    return 'a connection_test needs its requestId (its values are sealed for that request only)';
  }
  if (typeof req.domain !== 'string' || !DOMAIN_NAME.test(req.domain)) return 'domain is not a domain name';
  if (typeof req.principal !== 'string' || req.principal === '') return 'principal is missing';
  if (!Array.isArray(req.references)) return 'references must be a list';
  return undefined;
}

/** What is wrong with a runtime read from the bus, if anything (it comes from a deployer, but is checked). */
export function runtimeReadProblem(req: RuntimeReadRequest): string | undefined {
  if (typeof req !== 'object' || req === null) return 'the request is not a JSON object';
  if (typeof req.domain !== 'string' || !DOMAIN_NAME.test(req.domain)) return 'domain is not a domain name';
  if (typeof req.principal !== 'string' || req.principal === '') return 'principal is missing';
  if (typeof req.deploymentId !== 'string' || req.deploymentId === '') return 'deploymentId is missing';
  const r = req.reference as Partial<RuntimeReadRequest['reference']> | undefined;
  if (typeof r !== 'object' || r === null) return 'reference is missing';
  if (typeof r.refId !== 'string' || typeof r.sourceId !== 'string' || typeof r.legacy !== 'boolean') {
    return 'reference must have refId, key, sourceType, sourceId and legacy';
  }
  if (typeof r.key !== 'string' || !SECRET_KEY.test(r.key)) return 'reference.key is not a secret key';
  if (r.sourceType !== 'MANAGED' && r.sourceType !== 'VAULT') return 'reference.sourceType must be MANAGED or VAULT';
  return undefined;
}
