import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ETL_STOPPING, etlDeployment, fakeWorkload } from '../testing/fake-records.js';
import { deploymentLines, workloadStatus } from './deployment-format.js';

test('a running deployment asked to stop says so wherever it is shown', () => {
  const lines = deploymentLines(ETL_STOPPING);
  assert.ok(lines.includes('  stopping: asked by admin at 2025-03-03T12:05:00.000Z'), lines.join('\n'));
  assert.equal(
    workloadStatus(fakeWorkload('etl', { liveDeployment: ETL_STOPPING, lastDeployment: ETL_STOPPING })).status,
    'stopping',
  );
  const stopped = etlDeployment('s-1', 'stopped', {
    stopRequestedAt: '2025-03-03T12:05:00.000Z',
    stopRequestedBy: 'admin',
  });
  assert.ok(!deploymentLines(stopped).some((l) => l.includes('stopping')), 'not once it has stopped');
});
