/** Stable machine-readable codes for infrastructure failures. */
export type InfraErrorCode =
  | 'infra.port_in_use'
  | 'infra.binary_missing'
  | 'infra.data_dir_unreadable'
  | 'infra.start_failed'
  | 'infra.install_failed'
  | 'infra.bad_cluster';

/**
 * An infrastructure process could not be started. `message` is one line that
 * says what is wrong and how to fix it; `code` is stable and safe to match on.
 */
export class InfraError extends Error {
  readonly code: InfraErrorCode;
  /** Extra diagnostic output (e.g. the last log lines of a crashed process). */
  readonly details: string | undefined;

  constructor(code: InfraErrorCode, message: string, options?: { cause?: unknown; details?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'InfraError';
    this.code = code;
    this.details = options?.details;
  }
}

export function isInfraError(value: unknown, code?: InfraErrorCode): value is InfraError {
  return value instanceof InfraError && (code === undefined || value.code === code);
}
