import { status as GrpcStatus } from '@grpc/grpc-js';

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

const KIND_TO_GRPC: Record<ErrorKind, GrpcStatus> = {
  invalid_argument: GrpcStatus.INVALID_ARGUMENT,
  not_found: GrpcStatus.NOT_FOUND,
  already_exists: GrpcStatus.ALREADY_EXISTS,
  permission_denied: GrpcStatus.PERMISSION_DENIED,
  unauthenticated: GrpcStatus.UNAUTHENTICATED,
  failed_precondition: GrpcStatus.FAILED_PRECONDITION,
  unavailable: GrpcStatus.UNAVAILABLE,
  unimplemented: GrpcStatus.UNIMPLEMENTED,
  internal: GrpcStatus.INTERNAL,
};

const GRPC_TO_KIND = new Map<number, ErrorKind>(
  Object.entries(KIND_TO_GRPC).map(([kind, code]) => [code, kind as ErrorKind]),
);

export interface GrpcStatusObject {
  code: GrpcStatus;
  details: string;
  /** Carried as the `latchkey-error-code` trailer. */
  errorCode: string;
}

/**
 * The one place where an error becomes a gRPC status. Anything that is not a
 * LatchkeyError is reported as INTERNAL with a fixed text: its message may
 * come from a library and is not ours to show.
 */
export function toGrpcStatus(err: unknown): GrpcStatusObject {
  if (err instanceof LatchkeyError) {
    return { code: KIND_TO_GRPC[err.kind], details: err.message, errorCode: err.code };
  }
  return { code: GrpcStatus.INTERNAL, details: 'internal error (see the service log)', errorCode: 'internal' };
}

/** The inverse, for clients: a gRPC error back into a LatchkeyError. */
export function fromGrpcError(err: {
  code?: number;
  details?: string;
  message?: string;
  metadata?: { get(k: string): unknown[] };
}): LatchkeyError {
  const code = typeof err.code === 'number' ? err.code : GrpcStatus.UNKNOWN;
  const kind = GRPC_TO_KIND.get(code) ?? (code === GrpcStatus.DEADLINE_EXCEEDED ? 'unavailable' : 'internal');
  const trailer = err.metadata?.get('latchkey-error-code')[0];
  const errorCode = typeof trailer === 'string' ? trailer : `grpc.${GrpcStatus[code]?.toLowerCase() ?? 'unknown'}`;
  return new LatchkeyError(errorCode, err.details ?? err.message ?? 'unknown error', { kind });
}
