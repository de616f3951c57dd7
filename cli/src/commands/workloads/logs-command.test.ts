import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GetLogsRequest, GetLogsResponse } from '@latchkey/proto';
import { fakeIo } from '../../testing/fake-io.js';
import { FOLLOW_POLL_MS, printLogs } from './logs-command.js';

const line = (seq: number) => ({ seq, stream: 'stdout', line: `line ${seq}`, at: '2025-01-01T00:00:00.000Z' });

/** A deployer that answers with `pages` in turn and remembers every request. */
function deployer(pages: Omit<GetLogsResponse, 'deploymentId'>[]) {
  const asked: GetLogsRequest[] = [];
  return {
    asked,
    getPage: (req: GetLogsRequest): Promise<GetLogsResponse> => {
      asked.push(req);
      const page = pages.shift();
      if (!page) throw new Error('asked for a page after the last one');
      return Promise.resolve({ deploymentId: 'd-7', ...page });
    },
  };
}

const page = (seqs: number[], extra: Partial<GetLogsResponse> = {}): Omit<GetLogsResponse, 'deploymentId'> => ({
  lines: seqs.map(line),
  nextPageToken: `t${seqs.at(-1) ?? 'same'}`,
  more: false,
  ended: true,
  droppedLines: 0,
  ...extra,
});

const opts = { domain: 'analytics', name: 'etl', deploymentId: '', follow: false, json: false };

test('logs reads a large output page by page, with the token of each page, pinned to the deployment of the first', async () => {
  const fake = deployer([page([1, 2], { more: true }), page([3, 4], { more: true }), page([5])]);
  const io = fakeIo();
  await printLogs(fake.getPage, opts, io);
  assert.deepEqual(io.stdoutLines, ['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
  assert.deepEqual(
    fake.asked.map((r) => [r.deploymentId, r.pageToken]),
    [
      ['', ''],
      ['d-7', 't2'],
      ['d-7', 't4'],
    ],
  );
});

test('logs --follow asks again after the last line until the deployment ends, and prints each new line once', async () => {
  const fake = deployer([
    page([1, 2], { ended: false }),
    page([], { ended: false, nextPageToken: 't2' }),
    page([3], { ended: false }),
    page([], { ended: true, nextPageToken: 't3' }),
  ]);
  const slept: number[] = [];
  const io = fakeIo();
  await printLogs(fake.getPage, { ...opts, follow: true, sleep: (ms) => Promise.resolve(void slept.push(ms)) }, io);
  assert.deepEqual(io.stdoutLines, ['line 1', 'line 2', 'line 3']);
  assert.deepEqual(
    fake.asked.map((r) => r.pageToken),
    ['', 't2', 't2', 't3'],
  );
  assert.deepEqual(slept, [FOLLOW_POLL_MS, FOLLOW_POLL_MS, FOLLOW_POLL_MS]);
});

test('logs says how many earlier lines were dropped, and --json prints one document of every page', async () => {
  const io = fakeIo();
  await printLogs(deployer([page([41, 42], { droppedLines: 40 })]).getPage, opts, io);
  assert.deepEqual(io.stderrLines, [
    '(40 earlier lines are no longer kept: dropped by the output quota or past the retention)',
  ]);
  const json = fakeIo();
  await printLogs(
    deployer([page([41], { droppedLines: 40, more: true }), page([42])]).getPage,
    { ...opts, json: true },
    json,
  );
  const doc = JSON.parse(json.stdoutLines.join('\n')) as { lines: { line: string }[]; droppedLines: number };
  assert.deepEqual(
    doc.lines.map((l) => l.line),
    ['line 41', 'line 42'],
  );
  assert.equal(doc.droppedLines, 40);
});
