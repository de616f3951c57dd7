// The process runtime as the deployer builds it by default, for tests:
// sandboxed by bubblewrap and, as root, each domain under its own uid.
import assert from 'node:assert/strict';
import { ensureBubblewrapBinary } from '@latchkey/embedded';
import { silentLogger, type Redactor } from '@latchkey/logger';
import { ProcessRuntime } from '../src/adapters/process-runtime.js';
import { prepareIsolation, type SandboxIdentities } from '../src/adapters/process-sandbox.js';

export const FIRST_SANDBOX_UID = 1_700_000_000;

/** Each domain its own uid, as the deployer's table would give them. */
export function fakeIdentities(): SandboxIdentities {
  const uids = new Map<string, number>();
  return {
    identityFor: (domain) => {
      const uid = uids.get(domain) ?? FIRST_SANDBOX_UID + uids.size;
      uids.set(domain, uid);
      return Promise.resolve({ uid, gid: uid });
    },
  };
}

/** A sandboxed process runtime over `workDir` (fails the test if no sandbox can be had). */
export async function sandboxedRuntime(
  workDir: string,
  opts: { redactor?: Redactor; maxLineBytes?: number } = {},
): Promise<ProcessRuntime> {
  const isolation = await prepareIsolation({
    mode: 'sandbox',
    // Installed here when missing (as `latchkey up` does): a clean machine may run these tests before any system start.
    bwrap: await ensureBubblewrapBinary(),
    workDir,
    probeIds: { uid: FIRST_SANDBOX_UID, gid: FIRST_SANDBOX_UID },
  });
  assert.equal(isolation.kind, 'sandbox', isolation.kind === 'unavailable' ? isolation.reason : '');
  return new ProcessRuntime({
    workDir,
    logger: silentLogger,
    isolation,
    identities: fakeIdentities(),
    ...(opts.redactor ? { redactor: opts.redactor } : {}),
    ...(opts.maxLineBytes !== undefined ? { maxLineBytes: opts.maxLineBytes } : {}),
  });
}
