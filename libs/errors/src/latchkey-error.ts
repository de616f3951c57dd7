/** The kind of failure, which decides how every transport reports it. */
export type ErrorKind =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'permission_denied'
  | 'unauthenticated'
  | 'failed_precondition'
  | 'unavailable'
  | 'unimplemented'
  | 'internal';

export interface LatchkeyErrorOptions {
  kind?: ErrorKind;
  retryable?: boolean;
  cause?: unknown;
  /** Structured, value-free details (field names, limits). */
  details?: Record<string, string | number | boolean>;
}

/**
 * Base of every error Latchkey raises on purpose. `code` is stable and dotted
 * (`secret.not_found`); `message` says what is wrong and how to fix it and
 * never contains a secret value.
 */
export class LatchkeyError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly details: Record<string, string | number | boolean>;

  constructor(code: string, message: string, options: LatchkeyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LatchkeyError';
    this.code = code;
    this.kind = options.kind ?? 'internal';
    this.retryable = options.retryable ?? this.kind === 'unavailable';
    this.details = options.details ?? {};
  }
}

export const invalidArgument = (code: string, message: string, details?: LatchkeyErrorOptions['details']) =>
  new LatchkeyError(code, message, { kind: 'invalid_argument', details });

export const notFound = (code: string, message: string) => new LatchkeyError(code, message, { kind: 'not_found' });

export const alreadyExists = (code: string, message: string) =>
  new LatchkeyError(code, message, { kind: 'already_exists' });

export const permissionDenied = (code: string, message: string) =>
  new LatchkeyError(code, message, { kind: 'permission_denied' });

export const unavailable = (code: string, message: string, cause?: unknown) =>
  new LatchkeyError(code, message, { kind: 'unavailable', retryable: true, cause });

export function isLatchkeyError(err: unknown): err is LatchkeyError {
  return err instanceof LatchkeyError;
}
