import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generateSealKeyPair, seal } from '@latchkey/crypto';
import {
  eventBytes,
  MAX_EVENT_BYTES,
  STALE_WORKLOADS_PER_EVENT,
  type WorkloadDeploying,
  type WorkloadResolutionFailed,
  type WorkloadResolved,
  type WorkloadStale,
} from '@latchkey/events';
import { LatchkeyError } from '@latchkey/errors';
import { parseWorkloadSpec, referencesOf, WORKLOAD_LIMITS } from '../workload-spec.js';

const run = { command: ['node', 'job.js'] };

function refused(doc: string, domain: string, code: string, message: RegExp): void {
  assert.throws(
    () => parseWorkloadSpec(doc, domain),
    (err: unknown) => {
      assert.ok(err instanceof LatchkeyError);
      assert.equal(err.code, code);
      assert.equal(err.kind, 'invalid_argument');
      assert.match(err.message, message);
      return true;
    },
  );
}

test('the poison spec (2,500 distinct 250-character ${secrets.…} placeholders, 650 KB) is refused on apply, naming the limits', () => {
  const envVars: Record<string, string> = {};
  for (let i = 0; i < 2500; i++) envVars[`V${i}`] = `\${secrets.${String(i).padStart(4, '0')}${'k'.repeat(246)}}`;
  const doc = JSON.stringify({ name: 'poison', kind: 'COMPUTE', envVars, run });
  assert.ok(doc.length > 640_000);
  refused(
    doc,
    'analytics',
    'workload.too_large',
    /the workload is \d+ bytes; at most 262144 bytes are allowed \(and at most 64 distinct secret references, values of at most 32768 characters\): split it/,
  );
});

test('at most 64 distinct references: the 65th is refused with the count and the limit, a repeated one counts once', () => {
  const refs = (n: number) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, `\${secrets.key_${i}}`]));
  const ok = parseWorkloadSpec(
    JSON.stringify({ name: 'ok', kind: 'COMPUTE', envVars: { ...refs(64), AGAIN: '${secrets.key_0}' }, run }),
    'analytics',
  );
  assert.equal(referencesOf(ok, 'analytics').length, 64);
  refused(
    JSON.stringify({
      name: 'many',
      kind: 'COMPUTE',
      envVars: refs(40),
      sparkConf: Object.fromEntries(
        Array.from({ length: 25 }, (_, i) => [
          `spark.k${i}`,
          { key: `conf_${i}`, source: { type: 'MANAGED', id: 'global' } },
        ]),
      ),
      run,
    }),
    'analytics',
    'workload.too_many_references',
    /the workload has 65 distinct secret references; at most 64 are allowed per workload/,
  );
});

test('a value over 32,768 characters and a name over 255 are refused at their path', () => {
  refused(
    JSON.stringify({ name: 'long', kind: 'COMPUTE', envVars: { BIG: 'x'.repeat(32_769) }, run }),
    'analytics',
    'workload.invalid',
    /\$\.envVars\.BIG: the value is 32769 characters long; at most 32768 are allowed/,
  );
  refused(
    JSON.stringify({ name: 'long', kind: 'COMPUTE', sparkConf: { [`spark.${'k'.repeat(250)}`]: 'v' }, run }),
    'analytics',
    'workload.invalid',
    /the Spark conf key name is 256 characters long; at most 255 are allowed/,
  );
  // At the limits, accepted.
  parseWorkloadSpec(
    JSON.stringify({ name: 'long', kind: 'COMPUTE', envVars: { [`B${'I'.repeat(254)}`]: 'x'.repeat(32_768) }, run }),
    'analytics',
  );
});

/**
 * The worst workload the limits allow, and every event it can cause, built
 * as their producers build them: each fits the bus with room to spare.
 */
test('every event a workload at the limits can cause fits the bus with room to spare', () => {
  const domain = `d${'x'.repeat(62)}`;
  const key = (i: number) => `${String(i).padStart(3, '0')}${'k'.repeat(250)}`;
  const envVars: Record<string, unknown> = {};
  for (let i = 0; i < WORKLOAD_LIMITS.references; i++) {
    envVars[`V${i}`] = i % 2 === 0 ? `\${secrets.${key(i)}}` : { key: key(i), source: { type: 'MANAGED', id: domain } };
  }
  const json = JSON.stringify({ name: `w${'x'.repeat(62)}`, kind: 'COMPUTE', envVars, run });
  assert.ok(Buffer.byteLength(json) <= WORKLOAD_LIMITS.specBytes);
  const spec = parseWorkloadSpec(json, domain);
  const references = referencesOf(spec, domain);
  assert.equal(references.length, WORKLOAD_LIMITS.references);

  const deploymentId = randomUUID();
  const deploying: WorkloadDeploying = {
    deploymentId,
    workloadId: randomUUID(),
    workload: spec.name,
    domain,
    principal: 'p'.repeat(256),
    groups: Array.from({ length: 50 }, (_, i) => `group-${i}-${'g'.repeat(50)}`),
    references,
  };
  // The resolver's cap on one deployment's values (512 KiB, resolution-service.ts), spread over every reference.
  const each = Math.floor((512 * 1024) / references.length);
  const plaintext = Buffer.from(JSON.stringify(Object.fromEntries(references.map((r) => [r.refId, 'v'.repeat(each)]))));
  const named = (r: { refId: string; key: string }) => ({ refId: r.refId, key: r.key });
  const resolved: WorkloadResolved = {
    deploymentId,
    domain,
    versions: references.map((r) => ({ ...named(r), sourceType: r.sourceType, scope: domain, version: 2_147_483_647 })),
    sealed: seal(generateSealKeyPair(), plaintext, deploymentId),
    // A warning per reference, longer than any the resolver writes (the shadowing one names the key three times).
    warnings: references.map((r) => `${r.key} ${r.key} ${r.key} ${'w'.repeat(240)}`),
  };
  const failed: WorkloadResolutionFailed = {
    deploymentId,
    domain,
    failures: references.map((r) => ({
      ...named(r),
      code: 'ras.permission_denied',
      message: `${r.key} ${'m'.repeat(800)}`,
    })),
  };
  // As many workloads as one event names, each with the longest name.
  const stale: WorkloadStale = {
    domain,
    changed: { scope: domain, key: key(0), currentVersion: 2_147_483_647, change: 'updated' },
    workloads: Array.from({ length: STALE_WORKLOADS_PER_EVENT }, () => ({
      workloadId: randomUUID(),
      workload: spec.name,
      deployedVersion: 2_147_483_647,
      redeployMode: 'manual' as const,
    })),
  };
  const sizes = {
    deploying: eventBytes(deploying),
    resolved: eventBytes(resolved),
    failed: eventBytes(failed),
    stale: eventBytes(stale),
  };
  assert.ok(sizes.deploying < 100_000, `workload.deploying is ${sizes.deploying} bytes`);
  assert.ok(sizes.failed < 200_000, `workload.resolution_failed is ${sizes.failed} bytes`);
  assert.ok(sizes.stale < 200_000, `workload.stale is ${sizes.stale} bytes`);
  // The sealed values dominate (the resolver's 512 KiB cap is ~700 KB in base64); still 10% under the
  // outbox's limit, itself 48 KB under NATS's 1 MiB.
  assert.ok(sizes.resolved < 0.9 * MAX_EVENT_BYTES, `workload.resolved is ${sizes.resolved} bytes`);
  assert.ok(MAX_EVENT_BYTES < 1024 * 1024);
});

test('a document with thousands of problems is refused with a message that lists the first 20, each path and field list cut short, and says how many more', () => {
  const envVars: Record<string, unknown> = {};
  for (let i = 0; i < 2000; i++) envVars[`bad name ${i}`] = 'v';
  // A reference with 3000 unknown fields, and a field whose name is 70,000 characters long.
  const wide = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`x${i}`, 1]));
  const doc = JSON.stringify({
    name: 'w',
    kind: 'COMPUTE',
    sparkConf: { ref: { key: 'k', source: { type: 'MANAGED', id: 'analytics' }, ...wide } },
    [`f${'y'.repeat(70_000)}`]: 1,
    envVars,
    run,
  });
  assert.throws(
    () => parseWorkloadSpec(doc, 'analytics'),
    (err: unknown) => {
      assert.ok(err instanceof LatchkeyError);
      assert.equal(err.code, 'workload.invalid');
      assert.match(err.message, /^the workload has 2002 problem\(s\): /);
      assert.match(err.message, /\$\.sparkConf\.ref: unknown field\(s\) x0, x1, .*, x9 and 2990 more in a reference/);
      assert.match(err.message, /\$\.fyyyy+…: unknown field/);
      assert.match(err.message, /; and 1982 more \(fix these and apply again to see the rest\)$/);
      assert.ok(err.message.length < 8192, `${err.message.length} characters`);
      return true;
    },
  );
});

test('values the fuzz found breaking apply are refused naming their path: a kind or policy mode that is a deeply nested object (was INTERNAL: a stack overflow quoting it), a huge one (was an 8 KB message), a NUL character (was a database error)', () => {
  const deep = JSON.parse(`${'{"a":'.repeat(6000)}1${'}'.repeat(6000)}`) as unknown;
  const huge = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`V${i}`, `\${secrets.k${i}}`]));
  for (const kind of [deep, huge]) {
    const doc = `{"name": "w", "kind": ${JSON.stringify(kind === deep ? '§' : kind).replace('"§"', `${'{"a":'.repeat(6000)}1${'}'.repeat(6000)}`)}, "run": {"command": ["true"]}}`;
    refused(doc, 'analytics', 'workload.invalid', /\$\.kind: unknown kind an object: expected one of COMPUTE/);
  }
  refused(
    `{"name": "w", "kind": "COMPUTE", "redeployPolicy": {"mode": ${'['.repeat(6000)}${']'.repeat(6000)}}, "run": {"command": ["true"]}}`,
    'analytics',
    'workload.invalid',
    /\$\.redeployPolicy\.mode: an array of 1 item\(s\) is not a mode/,
  );
  refused(
    JSON.stringify({ kind: 'STORAGE_CONFIG', name: 's', endpoint: 'https://s3', secretKey: 'a\u0000b' }),
    'analytics',
    'workload.invalid',
    /\$\.secretKey: holds a NUL character \(\\u0000\), which cannot be stored: remove it/,
  );
  refused(
    JSON.stringify({ kind: 'COMPUTE', name: 'c', envVars: { 'A\u0000': 'x' }, run }),
    'analytics',
    'workload.invalid',
    /\$\.envVars\["A\\u0000"\]: holds a NUL character/,
  );
});
