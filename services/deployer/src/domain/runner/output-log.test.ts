import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '@latchkey/logger';
import { waitFor } from '@latchkey/testing';
import type { OutputLine } from '../deployment-types.js';
import type { WorkloadRepo } from '../ports.js';
import { OutputLog, pageTokenAfter, seqOfPageToken } from './output-log.js';

/** The store port's append, faked: holds every call until `release`, records what it got. */
class HeldStore implements Pick<WorkloadRepo, 'appendLogs'> {
  readonly appended: { id: string; lines: OutputLine[] }[] = [];
  private releaseAll: () => void = () => undefined;
  private gate = new Promise<void>((r) => (this.releaseAll = r));
  async appendLogs(deploymentId: string, lines: readonly OutputLine[]): Promise<void> {
    await this.gate;
    this.appended.push({ id: deploymentId, lines: [...lines] });
  }
  release(): void {
    this.releaseAll();
  }
}

test('lines waiting for a slow store stay within the quota, the oldest dropped, and the next store gets only the newest', async () => {
  const store = new HeldStore();
  const quota = 1024 * 1024;
  const log = new OutputLog({ repo: store, logger: silentLogger, quotaBytes: quota, flushDelayMs: 1 });
  log.add('d1', 'stdout', 'first');
  const first = log.flush(); // held by the store: everything after waits
  const line = 'x'.repeat(8192);
  for (let i = 0; i < 25_000; i++) log.add('d1', 'stdout', line);
  log.add('d2', 'stdout', 'other domain');
  store.release();
  await first;
  await log.flush();
  const [a, b, c] = store.appended;
  assert.deepEqual(
    a?.lines.map((l) => l.seq),
    [1],
  );
  const kept = b!.lines;
  assert.ok(kept.length * 8192 <= quota, `${kept.length} lines waited`);
  assert.equal(kept.length, quota / 8192);
  assert.deepEqual([kept[0]!.seq, kept.at(-1)!.seq], [25_001 - kept.length + 1, 25_001], 'the newest, in order');
  assert.deepEqual(c, { id: 'd2', lines: [{ seq: 1, stream: 'stdout', line: 'other domain' }] });
});

test('a flush asked for while one runs resolves only once the lines before it are stored', async () => {
  const store = new HeldStore();
  const log = new OutputLog({ repo: store, logger: silentLogger, quotaBytes: 1 << 20, flushDelayMs: 1000 });
  log.add('d1', 'stdout', 'a');
  const one = log.flush();
  log.add('d1', 'stdout', 'b');
  const two = log.flush();
  store.release();
  await two;
  assert.deepEqual(
    store.appended.flatMap((x) => x.lines.map((l) => l.line)),
    ['a', 'b'],
  );
  await one;
});

test('a flush asked for just as the last store pass ends (before that pass has settled) stores the lines before it', async () => {
  const calls: Promise<void>[] = [];
  const stored: string[] = [];
  let release = () => undefined as void;
  const gate = new Promise<void>((r) => (release = r));
  const store: Pick<WorkloadRepo, 'appendLogs'> = {
    appendLogs: (_id, lines) => {
      const call = gate.then(() => void stored.push(...lines.map((l) => l.line)));
      calls.push(call);
      return call;
    },
  };
  const log = new OutputLog({ repo: store, logger: silentLogger, quotaBytes: 1 << 20, flushDelayMs: 1000 });
  log.add('d1', 'stdout', 'a');
  const first = log.flush();
  await waitFor(() => calls.length === 1, { what: 'the first store pass' });
  // Runs right after the pass's own continuation: the pass has found nothing more to do, its promise not yet settled.
  const second = calls[0]!.then(() => {
    log.add('d1', 'stdout', 'b');
    return log.flush();
  });
  release();
  await first;
  await second;
  assert.deepEqual(stored, ['a', 'b'], 'the line added before the second flush is stored when it resolves');
});

test('page tokens round-trip and a forged one is refused', () => {
  assert.equal(seqOfPageToken(pageTokenAfter(41)), 41);
  assert.equal(seqOfPageToken(''), 0);
  for (const bad of ['41', Buffer.from('after:-1').toString('base64url'), 'x'.repeat(100)])
    assert.throws(() => seqOfPageToken(bad), /page token is not one this deployer gave/);
});
