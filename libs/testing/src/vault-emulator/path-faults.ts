/**
 * Persistent, path-matched faults for the Vault emulator (test-only): every
 * request whose path after `/v1/` (namespace included) starts with a prefix
 * answers a Vault error status with Vault's documented `{"errors": [...]}`
 * body, or hangs until the fault is cleared. Unlike `failNext`, a fault stays
 * until its clear function runs, so a test can count how often a client
 * retried against it.
 */
import { errors, POLICY_DENIED, type VaultFailure } from './failure.js';

export type VaultFaultKind = 403 | 404 | 429 | 500 | 503 | 'hang';

interface ActiveFault {
  prefix: string;
  kind: VaultFaultKind;
  release: (() => void)[];
}

/** The bodies real Vault sends for these statuses (wire-facts.md and Vault's HTTP API docs). */
export function faultFailure(kind: Exclude<VaultFaultKind, 'hang'>, rel: string): VaultFailure {
  switch (kind) {
    case 403:
      return errors(403, POLICY_DENIED);
    case 404:
      return errors(404);
    case 429:
      return errors(429, `request path "${rel}": rate limit quota exceeded`);
    case 500:
      return errors(500, '1 error occurred:\n\t* internal error\n\n');
    case 503:
      return errors(503, 'Vault is sealed');
  }
}

export class PathFaults {
  readonly #active: ActiveFault[] = [];

  /** Adds a fault; the returned function clears it (and lets hung requests go on normally). */
  add(prefix: string, kind: VaultFaultKind): () => void {
    const fault: ActiveFault = { prefix: prefix.replace(/^\/+/, '').replace(/^v1\//, ''), kind, release: [] };
    this.#active.push(fault);
    return () => {
      const i = this.#active.indexOf(fault);
      if (i >= 0) this.#active.splice(i, 1);
      for (const r of fault.release.splice(0)) r();
    };
  }

  /** Throws the fault's failure, waits while it hangs, or returns when no fault matches `rel`. */
  async apply(rel: string): Promise<void> {
    const fault = this.#active.find((f) => rel.startsWith(f.prefix));
    if (!fault) return;
    if (fault.kind === 'hang') {
      await new Promise<void>((resolve) => fault.release.push(resolve));
      return this.apply(rel);
    }
    throw faultFailure(fault.kind, rel);
  }
}
