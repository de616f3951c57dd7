import { invalidArgument, type LatchkeyError } from '@latchkey/errors';

/** The errors of rotation policies: one code, built here. */
export const ROTATION_ERROR_CODES = ['secret.invalid_rotation_policy'] as const;

/** A rotation period that cannot be read: `why` names it and `usage` what is accepted. */
export const invalidRotationPolicy = (why: string, usage: string): LatchkeyError =>
  invalidArgument('secret.invalid_rotation_policy', `${why}: ${usage}`);
