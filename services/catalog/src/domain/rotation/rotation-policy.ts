import { invalidRotationPolicy } from './rotation-errors.js';

/** The longest rotation period accepted: ten years. */
export const MAX_ROTATION_DAYS = 3650;
const DAY = 86_400;
const HOUR = 3_600;

/** What `--rotate-every` takes to remove a policy. */
export const NO_ROTATION = 'never';

const USAGE =
  `use <N>d or <N>h (e.g. 90d, 36h; at most ${MAX_ROTATION_DAYS}d), ` +
  `or "${NO_ROTATION}" to remove the rotation policy`;

/**
 * A rotation period as given (`90d`, `36h`, `never`): its length in seconds,
 * or null for `never`. Throws `secret.invalid_rotation_policy` naming what is
 * wrong and what is accepted.
 */
export function parseRotateEvery(text: string): number | null {
  if (text === NO_ROTATION) return null;
  if (text === '') throw invalidRotationPolicy('the rotation period is empty', USAGE);
  const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
  const m = /^(\d{1,7})([dh])$/.exec(text);
  if (!m) throw invalidRotationPolicy(`${shown} is not a rotation period`, USAGE);
  const n = Number(m[1]);
  const seconds = n * (m[2] === 'd' ? DAY : HOUR);
  if (n === 0) throw invalidRotationPolicy(`${shown} is not a rotation period (zero)`, USAGE);
  if (seconds > MAX_ROTATION_DAYS * DAY) {
    throw invalidRotationPolicy(`${shown} is longer than the longest rotation period (${MAX_ROTATION_DAYS}d)`, USAGE);
  }
  return seconds;
}

/** A period in seconds as `<N>d` when it is whole days, else `<N>h`. */
export function formatRotateEvery(seconds: number): string {
  return seconds % DAY === 0 ? `${seconds / DAY}d` : `${Math.round(seconds / HOUR)}h`;
}

/** When a version created at `versionCreatedAt` is due under a policy of `seconds`. */
export function rotationDueAt(versionCreatedAt: Date, seconds: number): Date {
  return new Date(versionCreatedAt.getTime() + seconds * 1000);
}
