export type { ErrorKind, LatchkeyErrorOptions } from './latchkey-error.js';
export {
  LatchkeyError,
  invalidArgument,
  notFound,
  alreadyExists,
  permissionDenied,
  unavailable,
  isLatchkeyError,
} from './latchkey-error.js';
