import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Metadata, status, type GrpcObject } from '@grpc/grpc-js';
import { readConnectionFile } from '@latchkey/cli';
import { channelCredentials } from '@latchkey/grpc';
import { fileDescriptorProtos } from '@latchkey/proto';
import {
  packageFromDescriptors,
  reflectionClient,
  startOtlpReceiver,
  waitFor,
  type OtlpReceiver,
  type ReceivedSpan,
} from '@latchkey/testing';
import { findLeak } from './canary-scan.js';
import { runCli, startSystem, type CliResult, type RunningSystem } from './system-harness.js';
import { applyWorkload, computeWorkload, managedRef } from './workload-files.js';

// One system for the file, exporting its spans to a receiver of the test's own.
let receiver: OtlpReceiver;
let sys: RunningSystem;
let otel: Record<string, string>;

before(async () => {
  receiver = await startOtlpReceiver();
  // Batches every 200 ms (the default, 5 s, would only make the test wait).
  otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '200' };
  sys = await startSystem({ env: otel });
});

after(async () => {
  await sys?.cleanup();
  await receiver?.close();
});

/** The CLI as a user with the same OTEL_* variables: it exports its own span. */
async function ok(args: string[], input?: string): Promise<CliResult> {
  const r = await runCli(sys.home, args, input, otel);
  assert.equal(r.code, 0, `latchkey ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return r;
}

const SERVER = 2;
const CONSUMER = 5;

test('one deploy is one trace: cli -> deployer -> (NATS) resolver -> ras and catalog -> (NATS) deployer, and no value or token in anything exported', async () => {
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  await ok(['domain', 'create', 'analytics']);
  await ok(['secret', 'put', 'db_password', '--domain', 'analytics'], canary);
  await applyWorkload(
    ok,
    sys.home,
    'analytics',
    computeWorkload('traced-job', { DB_PASSWORD: managedRef('db_password', 'analytics') }),
  );
  // The apply checked the reference with ras, and the resolver keeps decisions for a second: a policy
  // change drops them (the policy.changed event), so the deploy's resolution asks ras again, in its trace.
  const flushes = () =>
    receiver.spans().filter((s) => s.service === 'latchkey-resolver' && s.name === 'policy.changed').length;
  const before = flushes();
  await ok(['domain', 'create', 'tracing-flush']);
  await waitFor(() => flushes() > before || undefined, {
    what: 'the resolver to consume the policy change of domain create',
    timeoutMs: 30_000,
  });
  const deployed = JSON.parse(
    (await ok(['deploy', 'traced-job', '--domain', 'analytics', '--wait', '--json'])).stdout,
  ) as {
    status: string;
  };
  assert.equal(deployed.status, 'deployed');

  // The CLI's span is exported before it exits; the services' within a batch interval.
  const root = receiver.spans().find((s) => s.service === 'latchkey-cli' && s.name === 'cli/deploy');
  assert.ok(root, `the CLI exported its deploy span: ${names(receiver.spans())}`);
  assert.equal(root.parentSpanId, '', 'the CLI span is the root of its trace');
  assert.equal(root.attributes['latchkey.exit_code'], 0);
  const inTrace = () => receiver.spans().filter((s) => s.traceId === root.traceId);
  const isDeploying = (s: ReceivedSpan) =>
    String(s.attributes['messaging.destination.name']).startsWith('latchkey.workload.deploying.');
  const isResolved = (s: ReceivedSpan) =>
    String(s.attributes['messaging.destination.name']).startsWith('latchkey.workload.resolved.');
  const spans = await waitFor(
    () => {
      const all = inTrace();
      const done = all.some((s) => s.service === 'latchkey-deployer' && s.kind === CONSUMER && isResolved(s));
      // Each process exports in its own batches: wait for the resolver's own ras and catalog calls, not any.
      const inResolver = (s: ReceivedSpan) =>
        hasAncestor(all, s, (a) => a !== s && a.service === 'latchkey-resolver' && a.kind === CONSUMER);
      const fromResolver = (service: string) =>
        all.some((s) => s.service === service && s.kind === SERVER && inResolver(s));
      return done && fromResolver('latchkey-catalog') && fromResolver('latchkey-ras') ? all : undefined;
    },
    { what: `the services' spans of the deploy's trace (so far: ${names(inTrace())})`, timeoutMs: 30_000 },
  );
  /** `s` is `ancestor` or a descendant of it, by parent links inside the trace. */
  const under = (s: ReceivedSpan, ancestor: ReceivedSpan): boolean => hasAncestor(spans, s, (a) => a === ancestor);
  const one = (what: string, pred: (s: ReceivedSpan) => boolean): ReceivedSpan => {
    const found = spans.filter(pred);
    assert.equal(found.length, 1, `one ${what} in the trace: ${names(spans)}`);
    return found[0] as ReceivedSpan;
  };

  const deploy = one('deployer Deploy call', (s) => s.service === 'latchkey-deployer' && s.name === 'deployer/deploy');
  assert.equal(deploy.parentSpanId, root.spanId, 'the Deploy call is a child of the CLI span (gRPC hop)');
  assert.equal(deploy.kind, SERVER);
  assert.deepEqual(
    [deploy.attributes['rpc.method'], deploy.attributes['latchkey.domain'], deploy.attributes['rpc.grpc.status_code']],
    ['deploy', 'analytics', 0],
  );
  const resolving = one(
    'resolver consumer span',
    (s) => s.service === 'latchkey-resolver' && s.kind === CONSUMER && isDeploying(s),
  );
  assert.ok(
    under(resolving, deploy),
    'the resolver continues the Deploy call across NATS (the outbox kept its context)',
  );
  const ras = spans.filter((s) => s.service === 'latchkey-ras' && s.kind === SERVER && under(s, resolving));
  assert.ok(ras.length > 0, `the resolver asked ras inside its span: ${names(spans)}`);
  const catalog = one(
    'catalog value read',
    (s) => s.service === 'latchkey-catalog' && s.name === 'catalog/readValues' && under(s, resolving),
  );
  assert.equal(catalog.attributes['latchkey.principal'], 'service:resolver');
  const injected = one(
    'deployer consumer span of the resolution',
    (s) => s.service === 'latchkey-deployer' && s.kind === CONSUMER && isResolved(s),
  );
  assert.ok(under(injected, resolving), 'the deployer continues the resolver across NATS');
  for (const s of [deploy, resolving, ...ras, catalog, injected]) {
    assert.ok(s.instance, `${s.name} names its replica`);
    assert.equal(s.eventCount, 0, `${s.name}: no span event is exported`);
  }

  // Everything exported, byte for byte: no value, no token.
  const { token } = JSON.parse(await readFile(join(sys.home, 'identity.json'), 'utf8')) as { token: string };
  assert.ok(token.length > 20, 'the caller has a token');
  const raw = receiver.rawText();
  assert.ok(raw.includes(root.traceId), 'the scan covers what was exported');
  assert.equal(findLeak(raw, canary), undefined, 'no form of the secret value was exported');
  assert.equal(findLeak(raw, token), undefined, "the caller's token was not exported");
  for (const part of token.split('.')) assert.ok(!raw.includes(part), 'no part of the token was exported');
  assert.deepEqual(receiver.rejected(), [], 'the exporters sent OTLP/JSON traces only');
});

test('each service lists its API through gRPC reflection to an authenticated caller, enough to call it; a caller without credentials gets nothing', async () => {
  const connection = await readConnectionFile(sys.home);
  assert.ok(connection);
  const ca = await readFile(connection.caFile);
  const { token } = JSON.parse(await readFile(join(sys.home, 'identity.json'), 'utf8')) as { token: string };
  // The server is addressed by IP: its certificate is checked against it (as @latchkey/grpc's clients do).
  const creds = channelCredentials({ ca }, '127.0.0.1');
  const options = { 'grpc.ssl_target_name_override': 'latchkey-ip-target.invalid' };
  const expected: Record<'ras' | 'catalog' | 'resolver' | 'deployer', string[]> = {
    ras: ['grpc.health.v1.Health', 'latchkey.v1.RasService'],
    catalog: ['grpc.health.v1.Health', 'latchkey.v1.CatalogInternal', 'latchkey.v1.CatalogService'],
    resolver: ['grpc.health.v1.Health'],
    deployer: ['grpc.health.v1.Health', 'latchkey.v1.DeployerInternal', 'latchkey.v1.DeployerService'],
  };
  const listed = new Set<string>();
  for (const service of ['ras', 'catalog', 'resolver', 'deployer'] as const) {
    const want = expected[service];
    const address = connection[service];
    const anonymous = reflectionClient(address, creds, {}, options);
    const user = reflectionClient(address, creds, { authorization: `Bearer ${token}` }, options);
    try {
      await assert.rejects(
        anonymous.listServices(),
        (e: { code?: number; details?: string }) =>
          e.code === status.UNAUTHENTICATED && /no credentials/.test(e.details ?? ''),
        `${service}: reflection without a certificate or token is refused as unauthenticated`,
      );
      const names = await user.listServices();
      assert.deepEqual(names, want, `${service} lists its services`);
      for (const n of names) listed.add(n);
    } finally {
      anonymous.close();
      user.close();
    }
  }
  // Every service of proto/ is served by one of them.
  const inProto: string[] = [];
  const walk = (o: GrpcObject, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'function' && 'service' in v) inProto.push(`${prefix}${k}`);
      else if (typeof v === 'object' && !('format' in v)) walk(v as GrpcObject, `${prefix}${k}.`);
    }
  };
  walk(packageFromDescriptors(fileDescriptorProtos().map((f) => Buffer.from(f))), '');
  assert.ok(inProto.length >= 6, `services found in the descriptors: ${inProto.join(', ')}`);
  assert.deepEqual(
    inProto.filter((n) => !listed.has(n)),
    [],
    `every proto service is listed by a service (listed: ${[...listed].join(', ')})`,
  );

  // What a generic tool does next: fetch the descriptors and call, knowing nothing else of the API.
  const ras = reflectionClient(connection.ras, creds, { authorization: `Bearer ${token}` }, options);
  try {
    const pkg = packageFromDescriptors(await ras.fileContainingSymbol('latchkey.v1.RasService'));
    const v1 = (pkg['latchkey'] as Record<string, Record<string, unknown>>)['v1'];
    const Ctor = v1?.['RasService'] as new (
      a: string,
      c: unknown,
      o: object,
    ) => {
      WhoAmI(req: object, md: unknown, cb: (err: Error | null, res: { principal: string }) => void): void;
      close(): void;
    };
    const client = new Ctor(connection.ras, creds, options);
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    const me = await new Promise<{ principal: string }>((resolve, reject) =>
      client.WhoAmI({}, md, (err, res) => (err ? reject(err) : resolve(res))),
    );
    client.close();
    assert.equal(me.principal, 'admin');
  } finally {
    ras.close();
  }
});

/** Whether `s` or one of its ancestors (by parent links among `spans`) satisfies `pred`. */
function hasAncestor(spans: ReceivedSpan[], s: ReceivedSpan, pred: (a: ReceivedSpan) => boolean): boolean {
  const byId = new Map(spans.map((x) => [x.spanId, x]));
  for (let c: ReceivedSpan | undefined = s; c; c = byId.get(c.parentSpanId)) if (pred(c)) return true;
  return false;
}

function names(spans: ReceivedSpan[]): string {
  return spans.map((s) => `${s.service}:${s.name}`).join(', ');
}
