import fc from 'fast-check';
import { badText, FUZZ_DOMAIN, FUZZ_SECRET, unknownEnum } from './fuzz-values.js';

/** One generated workload document: the text sent (possibly not JSON, possibly not UTF-8) and what was done to it. */
export interface WorkloadCase {
  label: string;
  body: Buffer;
  /** The document parsed as an object with a usable kind: a refusal must name a JSON path. */
  isObject: boolean;
  /** The kind it was made from (its gateway endpoint). */
  kind?: string;
}

/** Names of workloads the fuzz may create: few, so accepted writes replace each other. */
const NAMES = ['fz-a', 'fz-b', 'fz-c'];

const BASES: Record<string, Record<string, unknown>> = {
  COMPUTE: {
    kind: 'COMPUTE',
    envVars: { PLAIN: 'literal', REF: `\${secrets.${FUZZ_SECRET}}` },
    sparkConf: { 'spark.executor.memory': '2g' },
    run: { command: ['true'] },
  },
  SPARK_JOB: {
    kind: 'SPARK_JOB',
    template: { envVars: { A: 'b' }, sparkConf: { 'spark.x': '1' } },
    run: { command: ['true'], resources: { requests: { cpu: '500m' } } },
  },
  JUPYTER_CONTAINER: {
    kind: 'JUPYTER_CONTAINER',
    config: { envVars: { TOKEN: { key: FUZZ_SECRET, source: { type: 'MANAGED', id: FUZZ_DOMAIN } } } },
  },
  STORAGE_CONFIG: {
    kind: 'STORAGE_CONFIG',
    endpoint: 'https://s3.example',
    accessKey: 'AKIA',
    secretKey: `\${secrets.${FUZZ_SECRET}}`,
  },
};

/** Stands for raw JSON text (deep nesting is built as text: the test's own JSON.stringify would recurse). */
const RAW = '\u0000raw:';
const raw = (jsonText: string): string => `${RAW}${Buffer.from(jsonText).toString('base64')}`;
const rawText = (s: string): string => Buffer.from(s.slice(RAW.length), 'base64').toString('utf8');

/** Values that are not what a field holds: wrong types, huge, deep, bad references. */
const badValue: fc.Arbitrary<{ label: string; value: unknown }> = fc.oneof(
  fc.constantFrom(
    { label: 'null', value: null },
    { label: 'true', value: true },
    { label: 'number', value: -1.5e308 },
    { label: 'array', value: ['a', 1, null] },
    { label: 'empty-array', value: [] },
    { label: 'empty-object', value: {} },
    { label: 'empty-string', value: '' },
    { label: 'ref:empty', value: '${secrets.}' },
    { label: 'ref:traversal', value: '${secrets.../../etc/passwd}' },
    { label: 'ref:unclosed', value: '${secrets.a' },
    { label: 'ref:typo', value: '${secret.a}' },
    { label: 'ref:nested', value: '${secrets.${secrets.a}}' },
    { label: 'ref:s3', value: { key: 'k', source: { type: 'S3', id: 'x' } } },
    { label: 'ref:other-domain', value: { key: 'k', source: { type: 'MANAGED', id: 'someone-else' } } },
    { label: 'ref:vault-not-uuid', value: { key: 'k', source: { type: 'VAULT', id: '../x' } } },
    {
      label: 'ref:vault-absent',
      value: { key: 'k', source: { type: 'VAULT', id: '00000000-0000-4000-8000-000000000001' } },
    },
    { label: 'ref:no-source', value: { key: 'k' } },
    { label: 'ref:no-key', value: { source: { type: 'MANAGED', id: FUZZ_DOMAIN } } },
    { label: 'ref:extra', value: { key: 'k', source: { type: 'MANAGED', id: FUZZ_DOMAIN, x: 1 }, y: 2 } },
    { label: 'ref:key-object', value: { key: { key: 'k' }, source: { type: 'MANAGED', id: FUZZ_DOMAIN } } },
    { label: 'command-secret', value: ['echo', '${secrets.x}'] },
    { label: 'quantity', value: { requests: { cpu: '-1' }, limits: { 'bad name!': '1Gi' } } },
  ),
  unknownEnum.map((e) => ({ label: e.label, value: Buffer.from(e.value).toString('utf8') })),
  badText().map((t) => ({ label: t.label, value: Buffer.from(t.value).toString('utf8') })),
  fc.integer({ min: 32 * 1024 + 1, max: 100_000 }).map((n) => ({ label: `huge(${n})`, value: 'x'.repeat(n) })),
  fc.integer({ min: 100, max: 60_000 }).map((d) => ({
    label: `deep-array(${d})`,
    value: raw(`${'['.repeat(d)}${']'.repeat(d)}`),
  })),
  fc.integer({ min: 100, max: 50_000 }).map((d) => ({
    label: `deep-object(${d})`,
    value: raw(`${'{"a":'.repeat(d)}1${'}'.repeat(d)}`),
  })),
  fc.integer({ min: 65, max: 400 }).map((n) => ({
    label: `references(${n})`,
    value: Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, `\${secrets.k${i}}`])),
  })),
  fc.integer({ min: 1000, max: 8000 }).map((n) => ({
    label: `env-vars(${n})`,
    value: Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, 'v'])),
  })),
);

/** Every path into a document (objects' keys and arrays' items), the root left out. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => [[...at, i], ...paths(x, [...at, i])]);
  if (typeof v === 'object' && v !== null)
    return Object.entries(v).flatMap(([k, x]) => [[...at, k], ...paths(x, [...at, k])]);
  return [];
}

function setAt(doc: unknown, path: (string | number)[], value: unknown, extraKey?: string): void {
  let node = doc as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) node = node[p] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (extraKey !== undefined) {
    const target = node[last];
    if (typeof target === 'object' && target !== null && !Array.isArray(target))
      (target as Record<string, unknown>)[extraKey] = value;
    else node[last] = value;
  } else node[last] = value;
}

/** The document's JSON text with the raw stand-ins put back. */
function render(doc: unknown): string {
  return JSON.stringify(doc).replace(/"\\u0000raw:([A-Za-z0-9+/=]*)"/g, (_, b64: string) => rawText(`${RAW}${b64}`));
}

/** A structured document: a kind's valid shape with 1-3 fields replaced, extra fields added, or the name made bad. */
const structured: fc.Arbitrary<WorkloadCase> = fc
  .tuple(
    fc.constantFrom(...Object.keys(BASES)),
    fc.constantFrom(...NAMES),
    fc.array(fc.tuple(fc.nat(), badValue, fc.option(fc.constantFrom('extra', '__proto__', 'constructor', 'x y'))), {
      minLength: 0,
      maxLength: 3,
    }),
  )
  .map(([kind, name, edits]) => {
    const doc = structuredClone({ name, ...BASES[kind] }) as Record<string, unknown>;
    const labels: string[] = [kind];
    for (const [pick, bad, extraKey] of edits) {
      const all = paths(doc);
      const path = all[pick % all.length]!;
      // A copy: fast-check hands out the same constant object again, and a second edit inside the first would
      // otherwise put the object inside itself (a circular document, found by the fuzz's own run).
      setAt(doc, path, structuredClone(bad.value), extraKey ?? undefined);
      labels.push(`$.${path.join('.')}${extraKey ? `.${extraKey}` : ''}=${bad.label}`);
    }
    return { label: labels.join(' '), body: Buffer.from(render(doc)), isObject: true, kind };
  });

/** Text that is not a workload object at all. */
const notAnObject: fc.Arbitrary<WorkloadCase> = fc
  .constantFrom(
    ['empty', ''],
    ['truncated', '{"name": "fz-a", "kind": '],
    ['trailing-comma', '{"name": "fz-a", "kind": "COMPUTE",}'],
    ['comment', '{"name": "fz-a" /* c */, "kind": "COMPUTE"}'],
    ['nan', '{"name": "fz-a", "kind": "COMPUTE", "envVars": {"A": NaN}}'],
    ['array', '[{"name": "fz-a"}]'],
    ['string', '"fz-a"'],
    ['number', '1'],
    ['null', 'null'],
    ['bom', '\ufeff{"name": "fz-a", "kind": "COMPUTE"}'],
    ['duplicate-keys', '{"name": "fz-a", "name": "fz-b", "kind": "COMPUTE", "kind": "S3"}'],
    ['proto', '{"name": "fz-a", "kind": "COMPUTE", "__proto__": {"admin": true}}'],
    ['constructor', '{"name": "fz-a", "kind": "COMPUTE", "constructor": {"prototype": {"admin": true}}}'],
    ['top-deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    ['oversized', `{"name": "fz-a", "kind": "COMPUTE", "description": "${'d'.repeat(300 * 1024)}"}`],
  )
  .map(([label, text]) => ({ label: `text:${label}`, body: Buffer.from(text), isObject: false }));

const invalidUtf8: fc.Arbitrary<WorkloadCase> = fc.constant({
  label: 'text:invalid-utf8',
  body: Buffer.concat([Buffer.from('{"name": "fz-'), Buffer.from([0xff, 0xfe]), Buffer.from('", "kind": "COMPUTE"}')]),
  isObject: false,
});

export const workloadCase: fc.Arbitrary<WorkloadCase> = fc.oneof(
  { weight: 6, arbitrary: structured },
  { weight: 2, arbitrary: notAnObject },
  { weight: 1, arbitrary: invalidUtf8 },
);
