import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import type { Log } from '@kubernetes/client-node';
import type { Logger } from '@latchkey/logger';
import type { RunHooks } from '../domain/ports.js';
import { apiStatus } from './kubernetes-api.js';
import { CONTAINER } from './kubernetes-pod-manifest.js';
import type { WorkloadOutput } from './workload-output.js';

/** One read of a Pod's log, line by line through the redactor. */
export interface PodLogs {
  /** Resolves once the output read is all reported (the log ended, failed or was given up). */
  done: Promise<void>;
  /** Reports what is left and stops reading. */
  close(): void;
}

/** The Pod whose log is read, and where its lines go. */
export interface PodLogTarget {
  namespace: string;
  pod: string;
  output: WorkloadOutput;
  hooks: RunHooks;
  /** The read in progress, if any: a failed read is forgotten here so that a later look may try again. */
  logs: PodLogs | undefined;
}

/**
 * Reads the Pod's output (followed while it runs) into the deployment's
 * log, redacted. A read that cannot start is left for the next look at
 * the Pod (or, once it has finished, given up with a warning).
 */
export function readPodLogs(logReader: Log, entry: PodLogTarget, follow: boolean, logger: Logger): PodLogs {
  const decoder = new StringDecoder('utf8');
  const lines = entry.output.lines((line) => entry.hooks.onLine('stdout', line));
  let closed = false;
  let controller: AbortController | undefined;
  let settle = () => undefined as void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  const close = () => {
    if (closed) return;
    closed = true;
    controller?.abort();
    lines.write(decoder.end());
    lines.end();
    settle();
  };
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!closed) lines.write(decoder.write(chunk));
      callback();
    },
    final(callback) {
      close();
      callback();
    },
  });
  const logs: PodLogs = { done, close };
  logReader
    .log(entry.namespace, entry.pod, CONTAINER, sink, { follow })
    .then((c) => {
      controller = c;
      if (closed) c.abort();
    })
    .catch((err: unknown) => {
      if (closed) return;
      logger.warn("could not read a workload Pod's output", {
        pod: entry.pod,
        status: apiStatus(err),
      });
      // Not read: a later look at the Pod may try again.
      if (entry.logs === logs) entry.logs = undefined;
      close();
    });
  return logs;
}
