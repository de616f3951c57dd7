import { authorize, type Authorizer } from '@latchkey/authz';
import { checkDomainName } from '@latchkey/events';
import type { LogLineRecord } from '../deployment-types.js';
import { deploymentNotFoundFor } from '../deployments/deployment-errors.js';
import { LOGS_PAGE_MAX_BYTES, logsPageSize, pageTokenAfter, seqOfPageToken } from './output-log.js';
import type { WorkloadRepo } from '../ports.js';
import { findWorkload } from '../workloads/workload-definitions.js';

/** A page of a deployment's output. */
export interface LogsPage {
  id: string;
  lines: LogLineRecord[];
  /** Asks for the lines after these (also those still to come). */
  nextPageToken: string;
  /** More lines are stored after these now. */
  more: boolean;
  /** The deployment has ended: no line will be added to what is stored. */
  ended: boolean;
  /** Lines between the page token and the first line returned that are no longer kept (quota, retention). */
  droppedLines: number;
}

export interface DeploymentLogsDeps {
  repo: WorkloadRepo;
  authorizer: Authorizer;
}

/**
 * A page of a deployment's stored output (its workload's last deployment
 * when `deploymentId` is empty): up to `pageSize` lines after the page
 * token, cut short before LOGS_PAGE_MAX_BYTES. Following output is asking
 * again with the returned token until `ended`.
 */
export async function deploymentLogs(
  deps: DeploymentLogsDeps,
  principal: string,
  target: { domain: string; name: string; deploymentId: string },
  page: { pageToken?: string; pageSize?: number } = {},
): Promise<LogsPage> {
  const { domain, name, deploymentId } = target;
  checkDomainName(domain);
  const afterSeq = seqOfPageToken(page.pageToken ?? '');
  const limit = logsPageSize(page.pageSize);
  await authorize(deps.authorizer, { principal, action: 'workload.read', domain, resource: name });
  const workload = await findWorkload(deps.repo, domain, name);
  const d = deploymentId
    ? /^[0-9a-f-]{36}$/.test(deploymentId)
      ? await deps.repo.getDeployment(deploymentId)
      : undefined
    : await deps.repo.latestDeployment(workload.id);
  if (!d || d.workloadId !== workload.id) throw deploymentNotFoundFor(name, deploymentId);
  // Read before the lines: a deployment seen ended has all its output stored (its end is recorded after it).
  const ended = d.status === 'failed' || d.status === 'exited' || d.status === 'stopped';
  const { lines, more } = await deps.repo.readLogs(d.id, afterSeq, limit, LOGS_PAGE_MAX_BYTES);
  const last = lines.at(-1)?.seq ?? afterSeq;
  return {
    id: d.id,
    lines,
    nextPageToken: pageTokenAfter(last),
    more,
    ended,
    droppedLines: lines.length > 0 ? lines[0]!.seq - afterSeq - 1 : 0,
  };
}
