/**
 * Every name a request carries is checked here, for every service, before the
 * handler runs: so before it reaches an authorization question, an audit
 * record, a log line or a row. A name with a line break or a terminal escape
 * (an outsider's GetWorkload for "job\n<forged audit row>") is refused with
 * `request.invalid_name` (`domain.invalid_name`, `secret.invalid_key` for
 * those fields, as the services' own checks say), naming the field, and
 * nothing is done with it.
 *
 * Rules go by field name, wherever the field sits (top level, `scope`,
 * `grantee`, a batch's items); an empty string is "not given", which the
 * service judges. The domain services keep their own, sometimes stricter,
 * checks (a domain name to create, a workload spec's names), and judge the
 * fields of service-only calls that carry no person's names to a decision
 * (the deployer's dependents query: sourceId, keys).
 */
import { LatchkeyError } from '@latchkey/errors';
import { DOMAIN_NAME, INTEGRATION_ID, OBJECT_NAME, PRINCIPAL_ID, SECRET_KEY } from '@latchkey/authz';

interface Rule {
  test: (value: string) => boolean;
  what: string;
  /** The error code: the one the services' own checks use for the same name, else request.invalid_name. */
  code?: string;
}

/** A rule that a name matches `re`. */
const matching = (re: RegExp, what: string, code?: string): Rule => ({
  test: (v) => re.test(v),
  what,
  ...(code === undefined ? {} : { code }),
});
const DOMAIN = matching(
  DOMAIN_NAME,
  'a domain name: lowercase letters, digits and -, at most 63',
  'domain.invalid_name',
);
const OBJECT = matching(
  OBJECT_NAME,
  'a name: letters, digits, _, . and -, starting with a letter or digit, at most 63',
);
const KEY = matching(
  SECRET_KEY,
  'a secret key: letters, digits, _, . and -, at most 253, and not . or ..',
  'secret.invalid_key',
);
const PRINCIPAL = matching(
  PRINCIPAL_ID,
  'a user or group: letters, digits and . _ @ + -, starting with a letter or digit, at most 200',
);
const INTEGRATION = matching(INTEGRATION_ID, 'a Vault integration id (a UUID)');
/** Resources in ras's Check are built by services from names checked here; still no control character. */
const RESOURCE: Rule = {
  test: (v) => v.length <= 600 && !hasControl(v),
  what: 'a resource without control characters, at most 600 characters',
};

const RULES: Record<string, Rule> = {
  domain: DOMAIN,
  name: OBJECT,
  bundle: OBJECT,
  integration: OBJECT,
  deploymentId: OBJECT,
  key: KEY,
  usedByKey: KEY,
  integrationId: INTEGRATION,
  integrationIds: INTEGRATION,
  id: PRINCIPAL,
  actor: PRINCIPAL,
  resource: RESOURCE,
};

function hasControl(v: string): boolean {
  for (const ch of v) {
    const c = ch.codePointAt(0) ?? 0;
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) {
      return true;
    }
  }
  return false;
}

/** The value as shown in the error: quoted, cut to 80 characters, every control character escaped. */
function shown(value: string): string {
  const cut = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  let out = '';
  for (const ch of cut) {
    const c = ch.codePointAt(0) ?? 0;
    out += hasControl(ch) || ch === '"' || ch === '\\' ? `\\u${c.toString(16).padStart(4, '0')}` : ch;
  }
  return `"${out}"`;
}

function invalid(field: string, value: string, rule: Rule): LatchkeyError {
  return new LatchkeyError(
    rule.code ?? 'request.invalid_name',
    `${field} ${shown(value)} is not valid: give ${rule.what}`,
    {
      kind: 'invalid_argument',
      details: { field },
    },
  );
}

function checkValue(field: string, value: unknown, rule: Rule): void {
  if (typeof value === 'string') {
    if (value !== '' && !rule.test(value)) throw invalid(field, value, rule);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkValue(`${field}[${i}]`, v, rule));
  }
}

/** Throws `request.invalid_name` for the first name in `request` (a decoded message) that breaks its rule. */
export function checkRequestNames(request: unknown, path = ''): void {
  if (typeof request !== 'object' || request === null || Buffer.isBuffer(request) || request instanceof Uint8Array) {
    return;
  }
  if (Array.isArray(request)) {
    request.forEach((item, i) => checkRequestNames(item, `${path}[${i}]`));
    return;
  }
  for (const [field, value] of Object.entries(request as Record<string, unknown>)) {
    const at = path === '' ? field : `${path}.${field}`;
    const rule = RULES[field];
    if (rule !== undefined) checkValue(at, value, rule);
    else if (typeof value === 'object' && value !== null) checkRequestNames(value, at);
  }
}
