export type { ErrorKind, LatchkeyErrorOptions, GrpcStatusObject } from './latchkey-error.js';
export {
  LatchkeyError,
  invalidArgument,
  notFound,
  alreadyExists,
  permissionDenied,
  unavailable,
  isLatchkeyError,
  toGrpcStatus,
  fromGrpcError,
} from './latchkey-error.js';
