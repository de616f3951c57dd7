import fc from 'fast-check';

/** A generated value with a short label for the report (never the whole value: some are megabytes). */
export interface Labelled<T> {
  label: string;
  value: T;
}

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const text = (label: string, s: string): Labelled<Uint8Array> => ({ label, value: utf8(s) });
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

/** The existing domain the fuzz aims at, so that bad input reaches past "domain not found". */
export const FUZZ_DOMAIN = 'fuzz';
/** A secret and a workload that exist in FUZZ_DOMAIN, so that calls reach past "not found" too. */
export const FUZZ_SECRET = 'seeded';
export const FUZZ_WORKLOAD = 'seeded-w';

/** A marker planted in secret values and credentials sent: it may appear in no answer. */
export const VALUE_CANARY = 'fuzzcanary-7d1f3a';

/** Names the services know, mixed in so that a bad field is often the only bad one. */
const plausible = fc.constantFrom(
  text('domain', FUZZ_DOMAIN),
  text('secret', FUZZ_SECRET),
  text('workload', FUZZ_WORKLOAD),
  text('global', 'global'),
  text('short', 'a'),
  text('absent', 'absent-name'),
  text('uuid', '00000000-0000-4000-8000-000000000000'),
);

/** Empty, huge and oversized strings (the transport takes 4 MiB; the services' limits are far lower). */
const sized = fc.oneof(
  { weight: 3, arbitrary: fc.constant(text('empty', '')) },
  { weight: 1, arbitrary: fc.constant(text('space', ' ')) },
  { weight: 2, arbitrary: fc.integer({ min: 64, max: 300 }).map((n) => text(`valid-charset(${n})`, 'a'.repeat(n))) },
  { weight: 2, arbitrary: fc.integer({ min: 1000, max: 70_000 }).map((n) => text(`huge(${n})`, 'x'.repeat(n))) },
  { weight: 1, arbitrary: fc.constant(text('oversized(1MiB)', 'y'.repeat(1024 * 1024))) },
);

/** Control characters and terminal escapes, alone and inside a name. */
const control = fc.constantFrom(
  text('nul', '\u0000'),
  text('nul-inside', 'fu\u0000zz'),
  text('bell-escape', 'a\u0007\u001b[31mred\u001b[0m'),
  text('crlf', 'fuzz\r\nforged: line'),
  text('tab', 'fu\tzz'),
  text('bidi', 'abc\u202egpj.exe'),
  text('bom', '\ufeffabc'),
  text('del', 'ab\u007fc'),
  text('c1', 'ab\u0085\u009bc'),
);

/** Byte sequences that are not UTF-8 (a string field must refuse them). */
const invalidUtf8 = fc.constantFrom(
  { label: 'utf8:ff', value: Uint8Array.from([0xff]) },
  { label: 'utf8:overlong', value: Uint8Array.from([0xc0, 0xaf]) },
  { label: 'utf8:surrogate', value: Uint8Array.from([0xed, 0xa0, 0x80]) },
  { label: 'utf8:truncated', value: Uint8Array.from([0x61, 0xe2, 0x82]) },
  { label: 'utf8:continuation', value: Uint8Array.from([0x66, 0x80, 0x75]) },
);

/** Path traversal, NATS wildcards and injection-like keys. */
const hostile = fc.constantFrom(
  text('traversal', '../../etc/passwd'),
  text('traversal-dots', '..'),
  text('dot', '.'),
  text('slash', '/'),
  text('traversal-encoded', '..%2f..%2fetc%2fpasswd'),
  text('traversal-inside', 'a/../../b'),
  text('backslash', '..\\..\\windows'),
  text('sql', "x'; DROP TABLE secrets; --"),
  text('sql-or', '" OR 1=1 --'),
  text('placeholder', '${secrets.x}'),
  text('template', '{{ .Values.secret }}'),
  text('shell', '$(id)'),
  text('backtick', '`id`'),
  text('format', '%s%n%x'),
  text('html', '<script>alert(1)</script>'),
  text('nats-wildcard', '>'),
  text('nats-star', '*'),
  text('nats-subject', 'latchkey.audit.>'),
  text('proto', '__proto__'),
  text('constructor', 'constructor'),
  text('null', 'null'),
  text('json', '{"a":1}'),
  text('unicode', 'ünïcödé'),
  text('astral', '𝔘𝔫𝔦'),
  text('homoglyph', 'fuzz\u0430'),
  text('upper', 'FUZZ'),
  text('trailing-space', 'fuzz '),
);

/** Values of string fields that carry an enumeration (source types, auth methods, roles, modes...). */
export const unknownEnum = fc.constantFrom(
  text('enum:S3', 'S3'),
  text('enum:lower', 'managed'),
  text('enum:space', 'MANAGED '),
  text('enum:nul', 'VAULT\u0000'),
  text('enum:upper-role', 'OWNER'),
  text('enum:root', 'root'),
  text('enum:number', '1'),
  text('enum:approle-typo', 'app_role'),
  text('enum:nested-layout', 'kv3'),
);

/** Page tokens no service handed out. */
export const badPageToken = fc.oneof(
  fc.constantFrom(
    text('token:garbage', 'not-a-token'),
    text('token:negative', b64('{"offset":-1}')),
    text('token:huge-offset', b64('{"offset":1e309}')),
    text('token:padding', '====='),
    text('token:percent', '%%%'),
    text('token:number', b64('99999999999999999999')),
    text('token:array', b64('[1,2,3]')),
    text('token:after', b64('{"after":"../../x"}')),
  ),
  fc.uint8Array({ minLength: 1, maxLength: 48 }).map((b) => text('token:random', Buffer.from(b).toString('base64url'))),
  fc.integer({ min: 5000, max: 20_000 }).map((n) => text(`token:long(${n})`, 'A'.repeat(n))),
);

/** Addresses for host fields: metadata endpoints, other schemes, garbage. */
const badHost = fc.constantFrom(
  text('host:metadata', 'http://169.254.169.254/latest/meta-data'),
  text('host:file', 'file:///etc/passwd'),
  text('host:port0', 'https://localhost:0'),
  text('host:userinfo', 'https://user:pass@evil.example'),
  text('host:no-scheme', 'vault.example:8200'),
  text('host:long', `https://${'a'.repeat(300)}.example`),
  text('host:ipv6', 'https://[::1]:8200'),
);

/** Durations and times. */
const badTime = fc.constantFrom(
  text('time:bad-date', '2026-13-45T99:99:99Z'),
  text('time:negative', '-1d'),
  text('time:zero', '0d'),
  text('time:huge', '99999999999999d'),
  text('time:fraction', '1.5h'),
  text('time:inf', '1e999'),
  text('time:never-typo', 'nevr'),
);

/** Strings that are not the service's: every family above, by the field's name where it tells more. */
export function badText(field = ''): fc.Arbitrary<Labelled<Uint8Array>> {
  const families: fc.Arbitrary<Labelled<Uint8Array>>[] = [
    plausible,
    sized,
    control,
    invalidUtf8,
    hostile,
    fc.string({ maxLength: 40 }).map((s) => text('random', s)),
    fc.string({ unit: 'binary', maxLength: 20 }).map((s) => text('random-binary', s)),
  ];
  if (/token/.test(field)) families.push(badPageToken, badPageToken);
  if (/type|kind|method|layout|role|mode|action|stream|outcome|trigger/.test(field))
    families.push(unknownEnum, unknownEnum);
  if (/host/.test(field)) families.push(badHost);
  if (/since|until|_at$|every|window/.test(field)) families.push(badTime);
  return fc.oneof(...families);
}

/** Bytes for bytes fields: empty, random, huge, a canary that no answer may echo. */
export const badBytes: fc.Arbitrary<Labelled<Uint8Array>> = fc.oneof(
  fc.constant({ label: 'bytes:empty', value: new Uint8Array(0) }),
  fc.uint8Array({ maxLength: 64 }).map((b) => ({ label: 'bytes:random', value: b })),
  fc.integer({ min: 1000, max: 200_000 }).map((n) => ({
    label: `bytes:huge(${n})`,
    value: utf8(VALUE_CANARY.padEnd(n, 'v')),
  })),
  fc.constant({ label: 'bytes:canary', value: utf8(`${VALUE_CANARY}-value`) }),
  fc.constant({ label: 'bytes:invalid-utf8', value: Uint8Array.from([0xff, 0xfe, 0x00, 0x41]) }),
);

/** Integers at and past every edge (varints up to 64 bits). */
export const badInteger: fc.Arbitrary<Labelled<bigint>> = fc.oneof(
  fc.constantFrom(
    ...[0n, 1n, -1n, 2n ** 31n - 1n, -(2n ** 31n), 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)].map(
      (v) => ({ label: `int:${v}`, value: v }),
    ),
  ),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => ({ label: 'int:random', value: v })),
);
