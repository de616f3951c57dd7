import { LatchkeyError } from '@latchkey/errors';
import { denialKind } from '@latchkey/authz';
import type { Decision } from './access-policy.js';

/** ras's own RPCs name a missing domain or bundle by the resource, not by the check. */
const RPC_CODES: Record<string, string> = {
  'ras.domain_not_found': 'domain.not_found',
  'ras.bundle_not_found': 'bundle.not_found',
};

/** A denial from the policy, as the error an RPC caller gets (the kind as every service maps it). */
export function decisionError(d: Decision): LatchkeyError {
  const code = RPC_CODES[d.code] ?? (d.code || 'ras.permission_denied');
  return new LatchkeyError(code, d.reason || 'permission denied', { kind: denialKind(d.code) });
}
