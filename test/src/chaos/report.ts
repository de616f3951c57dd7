import { writeFile } from 'node:fs/promises';
import type { InvariantResult } from './checks.js';
import type { DriverRecord } from './driver.js';

/** What a chaos run did and found, as written to its JSON file (no value, only counts and ids). */
export interface ChaosReport {
  seed: number;
  rounds: number;
  seconds: number;
  /**
   * restartsSeen: restarts latchkey up reported; collateral: unexpected deaths of processes no round
   * killed at that moment (a process that died of another's death), by process.
   */
  kills: { total: number; byProcess: Record<string, number>; restartsSeen: number; collateral: Record<string, number> };
  operations: DriverRecord['operations'];
  deploys: { accepted: number; recorded: number };
  rotations: { managed: number; vault: number; announcedManaged: number; announcedVault: number };
  /** The longest time two deployments of one workload were seen alive together (the handover), in seconds. */
  longestOverlapS: number;
  invariants: { name: string; checked: number; violations: number; examples: string[] }[];
  /** Every invariant held. */
  ok: boolean;
}

export function buildReport(parts: Omit<ChaosReport, 'invariants' | 'ok'>, results: InvariantResult[]): ChaosReport {
  const invariants = results.map((r) => ({
    name: r.name,
    checked: r.checked,
    violations: r.violations.length,
    examples: r.violations.slice(0, 20),
  }));
  return { ...parts, invariants, ok: invariants.every((i) => i.violations === 0) };
}

/** The report as a table of text lines. */
export function reportTable(r: ChaosReport): string[] {
  const row = (a: string, b: string | number, c: string | number = '') =>
    `${a.padEnd(56)} ${String(b).padStart(8)} ${String(c).padStart(10)}`;
  const lines = [
    `chaos run: seed ${r.seed} (CHAOS_SEED=${r.seed} replays its choices), ${r.rounds} rounds in ${r.seconds.toFixed(0)} s`,
    row('what', 'count', 'violations'),
    row('rounds', r.rounds),
    row('kills (SIGKILL)', r.kills.total),
    ...Object.entries(r.kills.byProcess)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([p, n]) => row(`  ${p}`, n)),
    row('restarts latchkey up reported', r.kills.restartsSeen),
    row(
      'unexpected deaths no round caused',
      Object.values(r.kills.collateral).reduce((a, b) => a + b, 0),
    ),
    ...Object.entries(r.kills.collateral)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([p, n]) => row(`  ${p}`, n)),
    row('deploys accepted (deploy, redeploy)', r.deploys.accepted),
    row('deployments recorded', r.deploys.recorded),
    ...Object.entries(r.operations)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, c]) => row(`  ${k}: accepted / refused`, c.accepted, c.refused)),
    row('rotations written: managed', r.rotations.managed),
    row('rotations written: Vault', r.rotations.vault),
    row('  versions announced (secret.changed): managed', r.rotations.announcedManaged),
    row('  versions announced (secret.changed): Vault', r.rotations.announcedVault),
    row('longest handover overlap (s)', r.longestOverlapS.toFixed(1)),
    ...r.invariants.map((i) => row(`invariant: ${i.name} (checked)`, i.checked, i.violations)),
  ];
  for (const i of r.invariants) for (const e of i.examples) lines.push(`  violation (${i.name}): ${e}`);
  lines.push(r.ok ? 'every invariant held' : 'SOME INVARIANTS WERE VIOLATED');
  return lines;
}

export async function writeReport(file: string, r: ChaosReport): Promise<void> {
  await writeFile(file, JSON.stringify(r, null, 2) + '\n');
}
