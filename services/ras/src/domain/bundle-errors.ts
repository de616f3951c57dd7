import { alreadyExists, invalidArgument, notFound, type LatchkeyError } from '@latchkey/errors';

/** Every code ras gives about a resource bundle. */
export const BUNDLE_ERROR_CODES = ['bundle.invalid_name', 'bundle.exists', 'bundle.not_found'] as const;

const quoted = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);

export function invalidBundleName(name: string): LatchkeyError {
  return invalidArgument(
    'bundle.invalid_name',
    name === ''
      ? 'no bundle given: name the bundle'
      : `invalid bundle name ${quoted(name)}: 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
  );
}

export function bundleExists(domain: string, name: string): LatchkeyError {
  return alreadyExists('bundle.exists', `bundle ${name} already exists in domain ${domain}`);
}

export function bundleNotFound(domain: string, name: string): LatchkeyError {
  return notFound(
    'bundle.not_found',
    `bundle ${name} not found in domain ${domain}: create it with latchkey bundle create ${name} --domain ${domain}`,
  );
}
