import { status as GrpcStatus } from '@grpc/grpc-js';
import { LatchkeyError, type ErrorKind } from '@latchkey/errors';

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
 * The longest status message sent. It travels in a trailer (percent-encoded):
 * one far longer is more than a peer takes in its headers, and the caller
 * would get no answer at all but a deadline.
 */
export const MAX_STATUS_DETAILS = 4096;

/** Half of a surrogate pair: grpc-js percent-encodes the message with encodeURI, which throws on one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The message as sent: at most MAX_STATUS_DETAILS characters, and well
 * formed (a cut, or a quoted input cut short, can end inside an emoji; the
 * call would then end in no answer but a deadline). Each lone half becomes U+FFFD.
 */
function cutDetails(message: string): string {
  let sent = message;
  if (message.length > MAX_STATUS_DETAILS) {
    const note = ` … (cut: the message is ${message.length} characters long)`;
    sent = message.slice(0, MAX_STATUS_DETAILS - note.length) + note;
  }
  return sent.replace(LONE_SURROGATE, '\uFFFD');
}

/**
 * The one place where an error becomes a gRPC status. Anything that is not a
 * LatchkeyError is reported as INTERNAL with a fixed text: its message may
 * come from a library and is not ours to show.
 */
export function toGrpcStatus(err: unknown): GrpcStatusObject {
  if (err instanceof LatchkeyError) {
    return { code: KIND_TO_GRPC[err.kind], details: cutDetails(err.message), errorCode: err.code };
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
