import { isLatchkeyError } from '@latchkey/errors';
import { isInfraError } from '@latchkey/embedded/infra-errors';
import { CliError, UsageError } from './cli-errors.js';
import { printableValue } from './terminal-text.js';

/**
 * The lines to print on stderr for a failure, and the exit code. Expected
 * failures never show a stack trace; unexpected ones do only with
 * LATCHKEY_DEBUG=1.
 */
export function reportError(err: unknown, env: NodeJS.ProcessEnv): { lines: string[]; exitCode: number } {
  if (err instanceof UsageError) {
    const lines = [`latchkey: ${err.message}`];
    if (err.usage !== undefined) lines.push(`usage: ${err.usage}`);
    return { lines, exitCode: err.exitCode };
  }
  if (err instanceof CliError) {
    const tail = (err as { logTail?: unknown }).logTail;
    const lines = [`latchkey: ${err.message}`];
    if (Array.isArray(tail) && tail.length > 0) {
      lines.push(`last ${tail.length} log lines:`, ...tail.map((l) => `  ${printableValue(String(l))}`));
    }
    return { lines, exitCode: err.exitCode };
  }
  // A server's message is one line however it was written: a line break cannot forge another.
  if (isLatchkeyError(err)) {
    return { lines: [`latchkey: ${printableValue(err.message)} (${printableValue(err.code)})`], exitCode: 1 };
  }
  if (isInfraError(err)) return { lines: [`latchkey: ${err.message}`], exitCode: 1 };
  const e = err instanceof Error ? err : new Error(String(err));
  const lines = [`latchkey: unexpected error: ${printableValue(e.message)}`];
  if (env['LATCHKEY_DEBUG'] === '1' && e.stack !== undefined) lines.push(e.stack);
  else lines.push('(set LATCHKEY_DEBUG=1 to see the stack trace)');
  return { lines, exitCode: 1 };
}
