import assert from 'node:assert/strict';
import { startSystem, type CliResult, type RunningSystem } from './system-harness.js';

/**
 * The CLI of a running system, with every result kept (`outputs`) for the
 * canary scan: `cli` returns whatever happened, `ok` fails the test unless
 * the command succeeded.
 */
export function recordedCli(sys: Pick<RunningSystem, 'cli'> & Partial<Pick<RunningSystem, 'poll'>>): {
  outputs: CliResult[];
  cli: (args: string[], input?: string) => Promise<CliResult>;
  ok: (args: string[], input?: string) => Promise<CliResult>;
  /** `ok` for polls inside waitFor: the same verb and checks, in this process (RunningSystem.poll) where there is one. */
  okPoll: (args: string[], input?: string) => Promise<CliResult>;
} {
  const outputs: CliResult[] = [];
  const record =
    (run: (args: string[], input?: string) => Promise<CliResult>) => async (args: string[], input?: string) => {
      const r = await run(args, input);
      outputs.push(r);
      return r;
    };
  const succeeded =
    (run: (args: string[], input?: string) => Promise<CliResult>) => async (args: string[], input?: string) => {
      const r = await run(args, input);
      assert.equal(r.code, 0, `latchkey ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
      return r;
    };
  const cli = record((args, input) => sys.cli(args, input));
  const inProcess = sys.poll;
  const poll = inProcess ? record(inProcess) : cli;
  return { outputs, cli, ok: succeeded(cli), okPoll: succeeded(poll) };
}

/** One record of `latchkey audit --json`. */
export interface AuditEntry {
  id: string;
  at: string;
  service: string;
  actor: string;
  action: string;
  domain: string;
  resource: string;
  outcome: string;
  reason: string;
  requestId: string;
}

/** The audit records `latchkey audit --json --limit 1000 <args>` shows, read with `ok`. */
export async function auditRecords(
  ok: (args: string[]) => Promise<{ stdout: string }>,
  args: string[] = [],
): Promise<AuditEntry[]> {
  return (JSON.parse((await ok(['audit', '--json', '--limit', '1000', ...args])).stdout) as { records: AuditEntry[] })
    .records;
}

/** A system started for one test (stopped and removed when it ends), with its recorded CLI. */
export async function startRecordedSystem(
  t: { after(fn: () => Promise<void>): void },
  opts: Parameters<typeof startSystem>[0] = {},
): Promise<{ sys: RunningSystem } & ReturnType<typeof recordedCli>> {
  const sys = await startSystem(opts);
  t.after(() => sys.cleanup());
  return { sys, ...recordedCli(sys) };
}
