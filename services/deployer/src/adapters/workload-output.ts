import type { ChildProcess } from 'node:child_process';
import { Redactor, StreamRedactor } from '@latchkey/logger';
import type { RunHooks } from '../domain/ports.js';

export interface WorkloadOutputOptions {
  /** The service's redactor: it holds the deployment's values while the deployment runs, for the service's own log lines. */
  serviceRedactor?: Redactor;
  /** A longer output line is cut (see StreamRedactor). */
  maxLineBytes?: number;
}

/**
 * The redaction of one deployment's output. Its lines are masked with that
 * deployment's own values only (a redactor of its own) and the secret-key
 * pattern (maskKeyValues: what follows `password=`, `token:` ...), never with the
 * values other deployments hold: otherwise a workload that prints a guess
 * would see it masked exactly when it is another domain's value. The
 * service's redactor holds the values too while the deployment runs, so
 * that the service's log lines mask everything it holds.
 */
export class WorkloadOutput {
  private readonly own = new Redactor();
  private readonly held: string[];
  private released = false;

  constructor(
    secrets: readonly string[],
    private readonly options: WorkloadOutputOptions = {},
  ) {
    this.held = secrets.filter((s) => s.length > 0);
    this.own.add(this.held);
    options.serviceRedactor?.add(this.held);
  }

  /** A stream of this deployment's output, reported line by line, masked. */
  lines(onLine: (line: string) => void): StreamRedactor {
    return new StreamRedactor(this.own, onLine, { maxLineBytes: this.options.maxLineBytes, maskKeyValues: true });
  }

  /** The deployment is over: the service's redactor no longer holds its values. Once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.options.serviceRedactor?.remove(this.held);
    this.own.remove(this.held);
  }
}

/** Reads a child process's stdout and stderr into `hooks`, masked; resolves once both have closed. */
export function pipeProcessOutput(child: ChildProcess, output: WorkloadOutput, hooks: RunHooks): Promise<void> {
  const streams = (['stdout', 'stderr'] as const).map((name) => {
    const lines = output.lines((line) => hooks.onLine(name, line));
    const stream = child[name];
    if (!stream) return Promise.resolve();
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => lines.write(chunk));
    return new Promise<void>((resolve) =>
      stream.once('close', () => {
        lines.end();
        resolve();
      }),
    );
  });
  return Promise.all(streams).then(() => undefined);
}
