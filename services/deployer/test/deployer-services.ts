import { silentLogger } from '@latchkey/logger';
import { FakeAuthorizer } from '@latchkey/testing';
import type { WorkloadServiceDeps } from '../src/domain/deployer-deps.js';
import { WorkloadService } from '../src/domain/workload-service.js';
import { NO_RUNTIME } from './deployer-test-support.js';

/**
 * A deployer's domain over `repo` for a test: an authorizer that allows,
 * no runtime and no seal keys, runner `test`, a silent logger, events
 * dropped; `deps` overrides any of them.
 */
export function testWorkloadService(
  repo: WorkloadServiceDeps['repo'],
  deps: Partial<WorkloadServiceDeps> = {},
): WorkloadService {
  return new WorkloadService({
    repo,
    authorizer: new FakeAuthorizer(),
    runtime: NO_RUNTIME,
    sealKeys: new Map(),
    runner: 'test',
    logger: silentLogger,
    onEvents: () => undefined,
    ...deps,
  });
}
