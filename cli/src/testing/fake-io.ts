import { Readable } from 'node:stream';
import type { CliIo } from '../output/cli-io.js';

/** A CliIo for tests: captures output, stdin from a string or a fake terminal. */
export interface FakeIo extends CliIo {
  stdoutLines: string[];
  stderrLines: string[];
}

export function fakeIo(
  opts: { stdin?: string | Buffer; tty?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): FakeIo {
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  const stdin = Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]) as Readable & {
    isTTY?: boolean;
  };
  if (opts.tty === true) stdin.isTTY = true;
  return {
    stdoutLines,
    stderrLines,
    out: (l) => stdoutLines.push(l),
    err: (l) => stderrLines.push(l),
    stdin,
    env: opts.env ?? {},
    cwd: opts.cwd ?? process.cwd(),
  };
}
