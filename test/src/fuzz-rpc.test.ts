import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { readConnectionFile } from '@latchkey/cli';
import { checkHealth } from '@latchkey/grpc';
import {
  CatalogInternalService,
  CatalogServiceService,
  DeployerInternalService,
  DeployerServiceService,
  RasServiceService,
} from '@latchkey/proto';
import { POLICY } from './permission-policy.js';
import { startSystem } from './system-harness.js';

/** Which process serves each generated service definition (the connection file's address names). */
const SERVICES = [
  { name: 'CatalogService', definition: CatalogServiceService, serves: 'catalog' },
  { name: 'CatalogInternal', definition: CatalogInternalService, serves: 'catalog' },
  { name: 'DeployerService', definition: DeployerServiceService, serves: 'deployer' },
  { name: 'DeployerInternal', definition: DeployerInternalService, serves: 'deployer' },
  { name: 'RasService', definition: RasServiceService, serves: 'ras' },
] as const;

/** Every RPC of every service, from the generated definitions (the method path as the server routes it). */
const RPCS = SERVICES.flatMap((s) =>
  Object.values(s.definition).map((m) => ({
    rpc: `${s.name}.${m.path.split('/').pop()}`,
    path: m.path,
    serves: s.serves,
  })),
);

/** A protobuf varint. */
const varint = (n: number): number[] => {
  const b: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) {
    b.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  b.push(v);
  return b;
};

/** Malformed strings: empty, huge, control characters, traversal and injection-like keys. */
const badString = fc.oneof(
  fc.constant(''),
  fc.constant('../../etc/passwd'),
  fc.constant("x'; DROP TABLE secrets; --"),
  fc.constant('${secrets.x}'),
  fc.constant('a\u0000b\u0007\u001b[31m'),
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 5000, maxLength: 70000 }),
);

/**
 * Raw request bytes a typed message cannot express: random bytes, a field of
 * the wrong wire type, a length-delimited field with invalid UTF-8 or a
 * malformed string, a truncated length, an unknown enum value as a varint.
 */
const rawRequest = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.tuple(fc.integer({ min: 1, max: 12 }), badString).map(([field, s]) => {
    const body = Buffer.from(s, 'utf8');
    return Buffer.from([...varint((field << 3) | 2), ...varint(body.length), ...body]);
  }),
  fc
    .tuple(fc.integer({ min: 1, max: 12 }), fc.uint8Array({ minLength: 1, maxLength: 16 }))
    .map(([field, bytes]) => Buffer.from([...varint((field << 3) | 2), ...varint(bytes.length), 0xff, 0xfe, ...bytes])),
  fc
    .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: -5, max: 2 ** 31 - 1 }))
    .map(([field, n]) => Buffer.from([...varint(field << 3), ...varint(n)])),
  fc.integer({ min: 1, max: 12 }).map((field) => Buffer.from([...varint((field << 3) | 2), 0x7f, 0x01])),
);

/** Codes a malformed request may get; anything else (INTERNAL, UNKNOWN, UNAVAILABLE...) is a violation. */
const ALLOWED = new Set([
  grpc.status.OK,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.PERMISSION_DENIED,
  grpc.status.UNAUTHENTICATED,
  grpc.status.ALREADY_EXISTS,
  grpc.status.FAILED_PRECONDITION,
]);

const CASES = Number(process.env.LATCHKEY_FUZZ_CASES ?? '1000');

test(`${CASES} malformed raw protobuf requests across every RPC: no INTERNAL, a message on every refusal, services healthy after`, async (t) => {
  // The policy table is held to the proto files by permission-matrix.test.ts: a new RPC or service fails there
  // until it has a policy, and here until it is fuzzed.
  assert.deepEqual(RPCS.map((r) => r.rpc).sort(), Object.keys(POLICY).sort(), 'every RPC with a policy is fuzzed');

  const sys = await startSystem();
  t.after(() => sys.cleanup());
  const conn = await readConnectionFile(sys.home);
  const ca = await readFile(conn.caFile);
  const { token } = JSON.parse(await readFile(join(sys.home, 'identity.json'), 'utf8')) as { token: string };
  const clients = new Map<string, grpc.Client>();
  for (const s of ['catalog', 'deployer', 'ras'] as const)
    clients.set(s, new grpc.Client(conn[s], grpc.credentials.createSsl(ca)));
  t.after(() => clients.forEach((c) => c.close()));

  const seed = Number(process.env.LATCHKEY_FUZZ_SEED ?? Date.now() % 2 ** 31);
  console.log(`fuzz seed ${seed} (LATCHKEY_FUZZ_SEED=${seed} repeats it)`);
  const byRpc = new Map<string, number>();
  const byCode = new Map<string, number>();
  const violations: string[] = [];

  const call = (rpc: (typeof RPCS)[number], body: Buffer) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${token}`);
      clients.get(rpc.serves)!.makeUnaryRequest(
        rpc.path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        md,
        { deadline: Date.now() + 30_000 },
        (err) => resolve(err),
      );
    });

  try {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...RPCS), rawRequest, async (rpc, body) => {
        const name = rpc.rpc;
        byRpc.set(name, (byRpc.get(name) ?? 0) + 1);
        const err = await call(rpc, Buffer.from(body));
        const code = err?.code ?? grpc.status.OK;
        byCode.set(grpc.status[code]!, (byCode.get(grpc.status[code]!) ?? 0) + 1);
        if (!ALLOWED.has(code) || (err && !err.details?.trim())) {
          violations.push(
            `${name} ${Buffer.from(body).toString('hex').slice(0, 80)}: ${grpc.status[code]} ${err?.details}`,
          );
          throw new Error(violations.at(-1));
        }
        return true;
      }),
      { numRuns: CASES, seed, endOnFailure: true },
    );
  } finally {
    if (violations.length) console.log(`violations:\n${violations.join('\n')}`);
  }
  console.log(`cases per RPC: ${JSON.stringify(Object.fromEntries(byRpc))}`);
  console.log(`answers by code: ${JSON.stringify(Object.fromEntries(byCode))}; violations: ${violations.length}`);
  assert.deepEqual(violations, []);
  for (const s of ['catalog', 'deployer', 'ras'] as const)
    assert.equal(await checkHealth(conn[s], 5000, { ca }), true, `${s} healthy after`);
  const status = await sys.cli(['status']);
  assert.equal(status.code, 0, status.stderr);
});
