/** What a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIo(): CliIo {
  return {
    out: (line) => process.stdout.write(line + '\n'),
    err: (line) => process.stderr.write(line + '\n'),
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  };
}
