/**
 * An expected failure of the command: printed as `latchkey: <message>` (no
 * stack trace), exit code `exitCode`.
 */
export class CliError extends Error {
  readonly exitCode: number;
  /** Optional stable code, printed as `(<code>)` after the message. */
  readonly code: string | undefined;

  constructor(message: string, options: { exitCode?: number; code?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = options.exitCode ?? 1;
    this.code = options.code;
  }
}

/** The command line itself is wrong: exit 2, followed by a usage line. */
export class UsageError extends CliError {
  /** Filled in by the dispatcher when the parser does not know the verb. */
  usage: string | undefined;

  constructor(message: string, usage?: string) {
    super(message, { exitCode: 2 });
    this.name = 'UsageError';
    this.usage = usage;
  }
}
