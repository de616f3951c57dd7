import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
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
import { lengthDelimitedField } from '@latchkey/testing';
import { assertNowhere } from './canary-scan.js';
import { argvCase, cliVerbs, namesArgument, runMain } from './fuzz-cli.js';
import { CLI_REGRESSIONS, RPC_REGRESSIONS, WORKLOAD_REGRESSIONS } from './fuzz-regressions.js';
import { openStateProbe, type Snapshot } from './fuzz-state.js';
import { FUZZ_DOMAIN, FUZZ_SECRET, FUZZ_WORKLOAD, VALUE_CANARY } from './fuzz-values.js';
import { messageCase, rawCase, requestTypeOf, type WireCase } from './fuzz-wire.js';
import { workloadCase, type WorkloadCase } from './fuzz-workload.js';
import { POLICY } from './permission-policy.js';
import { runCliInProcess, startSystem } from './system-harness.js';

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
type Rpc = (typeof RPCS)[number];
/** The gateway's workload collections (services/gateway/src/http/routes/workload-routes.ts), one per seed kind. */
const WORKLOAD_COLLECTIONS: Record<string, string> = {
  COMPUTE: '/api/v2/domains/:domain/compute',
  SPARK_JOB: '/api/v2/domains/:domain/spark/jobs',
  SPARK_STREAMING_JOB: '/api/v2/domains/:domain/spark/streaming/jobs',
  SDK_SPARK_JOB: '/api/v2/domains/:domain/sdk/spark/jobs',
  JUPYTER_CONTAINER: '/api/v1/domains/:domain/jupyter-containers',
  STORAGE_CONFIG: '/api/v1/domains/:domain/storage-configs',
};
const APPLY = RPCS.find((r) => r.rpc === 'DeployerService.ApplyWorkload')!;

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

/** The longest refusal message that still reads as one clear sentence (none may echo a huge input back). */
const MAX_MESSAGE_CHARS = 4096;

const CASES = Number(process.env.LATCHKEY_FUZZ_CASES ?? '1000');
/** The share of the cases each part gets. */
const PARTS = { raw: 0.2, structured: 0.4, workload: 0.2, cli: 0.2 } as const;
type Part = keyof typeof PARTS;

/** What one case got: its answer class, whether the system accepted it (a change is then its own), a violation. */
interface Outcome {
  answer: string;
  accepted: boolean;
  violation?: string;
}

/** A refusal's message must say something, briefly, and echo no secret value. */
function messageProblem(message: string | undefined): string | undefined {
  if (!message?.trim()) return 'no message';
  if (message.length > MAX_MESSAGE_CHARS) return `a message of ${message.length} characters`;
  if (message.includes(VALUE_CANARY)) return 'the message holds the secret value sent';
  if (/\n\s+at /.test(message)) return 'a stack trace';
  return undefined;
}

test(`${CASES} malformed requests (raw and typed protobuf to every RPC, workload documents over gRPC and HTTP, CLI argv): no INTERNAL or 5xx or crash, a clear message on every refusal, nothing changed by any refusal`, async (t) => {
  // The policy table is held to the proto files by permission-matrix.test.ts: a new RPC or service fails there
  // until it has a policy, and here until it is fuzzed.
  assert.deepEqual(RPCS.map((r) => r.rpc).sort(), Object.keys(POLICY).sort(), 'every RPC with a policy is fuzzed');

  const sys = await startSystem({ timeoutMs: 300_000 });
  t.after(() => sys.cleanup());
  const seedCli = async (args: string[], input?: string) => {
    const r = await runCliInProcess(sys.home, args, input);
    assert.equal(r.code, 0, `latchkey ${args.join(' ')}: ${r.stderr}`);
  };
  await seedCli(['domain', 'create', FUZZ_DOMAIN]);
  await seedCli(['secret', 'put', FUZZ_SECRET, '--domain', FUZZ_DOMAIN], 'seed-value-1234');
  const seededWorkload = join(sys.home, 'seeded-workload.json');
  // No run.command: a Deploy of it is refused, so that no deployment runs (and changes rows) under the fuzz.
  await writeFile(
    seededWorkload,
    JSON.stringify({ name: FUZZ_WORKLOAD, kind: 'COMPUTE', envVars: { A: `\${secrets.${FUZZ_SECRET}}` } }),
  );
  await seedCli(['workload', 'apply', '-f', seededWorkload, '--domain', FUZZ_DOMAIN]);

  const conn = await readConnectionFile(sys.home);
  const ca = await readFile(conn.caFile);
  const { token } = JSON.parse(await readFile(join(sys.home, 'identity.json'), 'utf8')) as { token: string };
  const clients = new Map<string, grpc.Client>();
  for (const s of ['catalog', 'deployer', 'ras'] as const)
    clients.set(s, new grpc.Client(conn[s], grpc.credentials.createSsl(ca)));
  t.after(() => clients.forEach((c) => c.close()));
  const api = /^API: (https:\/\/127\.0\.0\.1:\d+)\/api\/ /m.exec(sys.output())?.[1];
  assert.ok(api, 'latchkey up names the API address');
  const agent = new Agent({ keepAlive: true, ca, maxSockets: 1 });
  t.after(() => agent.destroy());

  const probe = await openStateProbe(sys.home);
  t.after(() => probe.close());
  await probe.settle();
  const auditBefore = await probe.auditIds();
  let baseline: Snapshot = await probe.snapshot();

  const seed = Number(process.env.LATCHKEY_FUZZ_SEED ?? Date.now() % 2 ** 31);
  console.log(`fuzz seed ${seed} (LATCHKEY_FUZZ_SEED=${seed} repeats it)`);

  interface Figures {
    cases: number;
    answers: Record<string, number>;
    accepted: number;
    violations: string[];
    ms: number;
  }
  const figures = new Map<Part, Figures>();
  const maxMessage = { chars: 0, at: '' };

  /** Runs one case and holds it to the rules; a change of state is allowed only with an accepted answer. */
  const check = async (part: Part, label: string, run: () => Promise<Outcome>) => {
    const f = figures.get(part) ?? { cases: 0, answers: {}, accepted: 0, violations: [], ms: 0 };
    figures.set(part, f);
    f.cases++;
    const started = performance.now();
    let o: Outcome;
    try {
      o = await run();
    } catch (err) {
      o = { answer: 'crash', accepted: false, violation: `threw ${(err as Error).stack ?? String(err)}` };
    }
    f.answers[o.answer] = (f.answers[o.answer] ?? 0) + 1;
    const after = await probe.snapshot();
    const changed = probe.changed(baseline, after);
    if (o.accepted) {
      f.accepted++;
      // What it set off (events, their consumers) is done before the next case is judged.
      await probe.settle();
      baseline = await probe.snapshot();
    } else if (changed.length > 0) {
      o.violation = `${o.violation ? `${o.violation}; ` : ''}answered ${o.answer} yet changed ${changed.join(', ')}`;
      baseline = after;
    }
    f.ms += performance.now() - started;
    if (o.violation) f.violations.push(`${part} ${label.slice(0, 300)}: ${o.violation.slice(0, 600)}`);
  };

  const grpcCall = (rpc: Rpc, body: Uint8Array) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${token}`);
      clients.get(rpc.serves)!.makeUnaryRequest(
        rpc.path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(body),
        md,
        { deadline: Date.now() + 30_000 },
        (err) => resolve(err),
      );
    });

  const grpcOutcome = async (rpc: Rpc, body: Uint8Array, needsPath = false): Promise<Outcome> => {
    const err = await grpcCall(rpc, body);
    const code = err?.code ?? grpc.status.OK;
    const answer = grpc.status[code]!;
    if (!err) return { answer, accepted: true };
    if (!ALLOWED.has(code)) return { answer, accepted: false, violation: `${answer} ${err.details}` };
    const bad = messageProblem(err.details);
    if (bad) return { answer, accepted: false, violation: `${answer}: ${bad}: ${err.details?.slice(0, 200)}` };
    if (err.details.length > maxMessage.chars) Object.assign(maxMessage, { chars: err.details.length, at: rpc.rpc });
    const latchkeyCode = err.metadata?.get('latchkey-error-code')[0];
    if (needsPath && latchkeyCode === 'workload.invalid' && !err.details.includes('$'))
      return { answer, accepted: false, violation: `workload.invalid names no JSON path: ${err.details}` };
    return { answer, accepted: false };
  };

  /** The gateway's LATCHKEY_HTTP_BODY_LIMIT default (the fuzz's system keeps it). */
  const GATEWAY_BODY_LIMIT = 1024 * 1024;
  const httpCall = (method: string, path: string, body: Buffer, contentType: string) =>
    new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
      const req = request(
        `${api}${path}`,
        {
          method,
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': contentType,
            'content-length': body.length,
          },
        },
        (res) => {
          answered = true;
          let text = '';
          res.on('error', reject);
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }),
          );
        },
      );
      // A server may answer (413) and close before a large body is written: the client's EPIPE after an answer is not the server's fault.
      let answered = false;
      req.on('error', (err) => {
        if (!answered) reject(err);
      });
      if (body.length <= GATEWAY_BODY_LIMIT) {
        req.end(body);
        return;
      }
      // Over the gateway's limit it answers 413 on the headers alone and closes: a careful client sends the
      // headers, takes that answer and never writes the body (writing it raced the close: EPIPE before the
      // answer was read). Should no answer come, the body is sent and the answer judged as any other.
      req.flushHeaders();
      const early = setTimeout(() => {
        if (!answered) req.end(body);
      }, 5000);
      req.once('response', (res) => {
        clearTimeout(early);
        res.once('end', () => req.destroy());
      });
    });

  const httpOutcome = async (wc: WorkloadCase, target: number, contentType: string): Promise<Outcome> => {
    // Mostly the endpoint of the document's kind (else the refusal is only "another kind's endpoint").
    const all = Object.values(WORKLOAD_COLLECTIONS);
    const own = wc.kind !== undefined && target % 5 !== 0 ? WORKLOAD_COLLECTIONS[wc.kind] : undefined;
    const collection = (own ?? all[target % all.length]!).replace(':domain', FUZZ_DOMAIN);
    const [method, path] =
      target % 3 === 0 ? ['POST', collection] : target % 3 === 1 ? ['PUT', collection] : ['PUT', `${collection}/fz-a`];
    const a = await httpCall(method, path, wc.body, contentType);
    const answer = `HTTP ${a.status}`;
    if (a.status >= 200 && a.status < 300) return { answer, accepted: true };
    if (a.status < 400 || a.status >= 500)
      return { answer, accepted: false, violation: `${answer} ${a.text.slice(0, 300)}` };
    if (!/^application\/problem\+json/.test(a.type))
      return { answer, accepted: false, violation: `${answer} as ${a.type}: ${a.text.slice(0, 200)}` };
    const p = JSON.parse(a.text) as { detail?: string; code?: string; errors?: { path: string }[] };
    const bad = messageProblem(p.detail) ?? (p.code ? undefined : 'no code');
    if (bad) return { answer, accepted: false, violation: `${answer}: ${bad}: ${a.text.slice(0, 200)}` };
    if (wc.isObject && p.code === 'workload.invalid' && !p.detail!.includes('$'))
      return { answer, accepted: false, violation: `workload.invalid names no JSON path: ${p.detail}` };
    return { answer: `${answer} ${p.code}`, accepted: false };
  };

  // The CLI runs in this process, in a data folder of its own (a copy of the connection and identity):
  // a `login` there cannot change the identity the fuzz calls with.
  const cliHome = await mkdtemp(join(tmpdir(), 'latchkey-fuzz-cli-'));
  t.after(() => rm(cliHome, { recursive: true, force: true }));
  const cliCwd = join(cliHome, 'a', 'b', 'cwd');
  await mkdir(cliCwd, { recursive: true });
  for (const f of ['connection.json', 'identity.json']) {
    await copyFile(join(sys.home, f), join(cliHome, f));
    await chmod(join(cliHome, f), 0o600);
  }
  await copyFile(seededWorkload, join(cliCwd, 'workload.json'));
  await writeFile(
    join(cliCwd, 'bad-workload.json'),
    '{"name": "fz-a", "kind": "COMPUTE", "envVars": {"A": {"key": 1}}}',
  );
  const cliEnv = { LATCHKEY_HOME: cliHome, PATH: process.env.PATH ?? '' };

  const cliOutputs: { stdout: string; stderr: string }[] = [];
  const cliOutcome = async (argv: string[], stdin: string): Promise<Outcome> => {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      runMain(argv, cliEnv, cliCwd, stdin),
      new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), 60_000))),
    ]).finally(() => clearTimeout(timer));
    if (r === 'hang') return { answer: 'hang', accepted: false, violation: 'no exit in 60 s' };
    const stderr = r.err.join('\n');
    cliOutputs.push({ stdout: r.out.join('\n'), stderr });
    const answer = `exit ${r.code}`;
    if (/unexpected error|\n\s+at /.test(stderr)) return { answer, accepted: false, violation: stderr.slice(0, 400) };
    if (r.code === 0) return { answer, accepted: true };
    const first = r.err.find((l) => l.trim() !== '');
    if (!first || !/^(latchkey: \S|usage: )/.test(first))
      return { answer, accepted: false, violation: `exit ${r.code} with ${JSON.stringify(stderr.slice(0, 200))}` };
    if (stderr.includes(VALUE_CANARY)) return { answer, accepted: false, violation: 'stderr holds the value sent' };
    if (r.code === 2 && !namesArgument(first, argv, verbs))
      return { answer, accepted: false, violation: `a usage refusal that names no argument: ${first.slice(0, 200)}` };
    return { answer, accepted: false };
  };

  const share = (p: Part) => Math.max(1, Math.round(CASES * PARTS[p]));
  const sample = <T>(arb: fc.Arbitrary<T>, i: number, part: number): T =>
    fc.sample(arb, { numRuns: 1, seed: (seed + part * 1_000_003 + i) | 0 })[0]!;

  // Regression cases first: inputs that once broke a service or the CLI, kept as they were found.
  for (const r of RPC_REGRESSIONS) {
    const rpc = RPCS.find((x) => x.rpc === r.rpc)!;
    await check('structured', `regression ${r.rpc} ${r.label}`, () => grpcOutcome(rpc, Buffer.from(r.hex, 'hex')));
  }
  for (const r of WORKLOAD_REGRESSIONS) {
    const wc = { label: r.label, body: Buffer.from(r.body), isObject: r.isObject, kind: r.kind ?? 'COMPUTE' };
    await check('workload', `regression grpc ${r.label}`, () => grpcOutcome(APPLY, applyRequest(wc.body), true));
    await check('workload', `regression http ${r.label}`, () => httpOutcome(wc, 1, 'application/json'));
  }
  for (const r of CLI_REGRESSIONS)
    await check('cli', `regression ${JSON.stringify(r.argv)}`, () => cliOutcome(r.argv, r.stdin ?? ''));

  const rpcAndCase = (gen: (rpc: Rpc) => fc.Arbitrary<WireCase>) =>
    fc.constantFrom(...RPCS).chain((rpc) => gen(rpc).map((c) => ({ rpc, c })));
  for (let i = 0; i < share('raw'); i++) {
    const { rpc, c } = sample(
      rpcAndCase(() => rawCase),
      i,
      1,
    );
    await check('raw', `#${i} ${rpc.rpc} ${c.label}`, () => grpcOutcome(rpc, c.bytes));
  }
  const typed = new Map(RPCS.map((r) => [r.rpc, messageCase(requestTypeOf(r.path))]));
  for (let i = 0; i < share('structured'); i++) {
    const { rpc, c } = sample(
      rpcAndCase((r) => typed.get(r.rpc)!),
      i,
      2,
    );
    await check('structured', `#${i} ${rpc.rpc} ${c.label}`, () => grpcOutcome(rpc, c.bytes, rpc === APPLY));
  }
  const workloadTransport = fc.tuple(workloadCase, fc.nat(), fc.constantFrom('grpc', 'http', 'http'));
  const contentTypes = [
    ...Array<string>(6).fill('application/json'),
    'application/json; charset=utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
  ];
  for (let i = 0; i < share('workload'); i++) {
    const [wc, target, via] = sample(workloadTransport, i, 3);
    await check('workload', `#${i} ${via} ${wc.label}`, () =>
      via === 'grpc'
        ? grpcOutcome(APPLY, applyRequest(wc.body), true)
        : httpOutcome(wc, target, contentTypes[target % contentTypes.length]!),
    );
  }
  const verbs = await cliVerbs(cliEnv, cliCwd);
  assert.ok(verbs.length > 20, `the CLI's help lists its verbs (${verbs.length})`);
  const argvArb = argvCase(verbs);
  for (let i = 0; i < share('cli'); i++) {
    const { argv, stdin } = sample(argvArb, i, 4);
    await check('cli', `#${i} ${JSON.stringify(argv).slice(0, 200)}`, () => cliOutcome(argv, stdin));
  }

  let total = 0;
  const violations: string[] = [];
  for (const [part, f] of figures) {
    total += f.cases;
    violations.push(...f.violations);
    console.log(
      `${part}: ${f.cases} cases; answers ${JSON.stringify(f.answers)}; accepted ${f.accepted}; violations ${f.violations.length}; ${(f.ms / 1000).toFixed(1)} s`,
    );
  }
  console.log(
    `total ${total} cases, ${violations.length} violations; longest refusal message ${maxMessage.chars} characters (${maxMessage.at})`,
  );
  if (violations.length) console.log(`violations:\n${violations.slice(0, 50).join('\n')}`);
  assert.deepEqual(violations, []);

  // Audit records are only ever added (refusals are audited); none went.
  const auditAfter = await probe.auditIds();
  await probe.close();
  assert.deepEqual(
    [...auditBefore].filter((id) => !auditAfter.has(id)),
    [],
    'no audit record went',
  );
  for (const s of ['catalog', 'deployer', 'ras'] as const)
    assert.equal(await checkHealth(conn[s], 5000, { ca }), true, `${s} healthy after`);
  const status = await sys.cli(['status']);
  assert.equal(status.code, 0, status.stderr);
  // The secret values sent (accepted or refused) are in no log, row, event or answer.
  await assertNowhere(sys, [VALUE_CANARY], cliOutputs);
});

/** An ApplyWorkloadRequest (domain = 1, spec_json = 2) whose spec is `body` as it is, valid UTF-8 or not. */
function applyRequest(body: Buffer): Uint8Array {
  return Buffer.concat([lengthDelimitedField(1, Buffer.from(FUZZ_DOMAIN)), lengthDelimitedField(2, body)]);
}
