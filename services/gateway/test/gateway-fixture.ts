import assert from 'node:assert/strict';
import { Server, ServerCredentials, type Metadata } from '@grpc/grpc-js';
import { after, before, beforeEach } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { silentLogger } from '@latchkey/logger';
import type { SecretMetadata } from '@latchkey/proto';
import { FAKE_SERVICE_DEFINITIONS, fakeService, type FakeHandlers, type FakeServiceName } from '@latchkey/testing';
import { connectUpstream, type Upstream } from '../src/clients.js';
import type { Problem } from '../src/http/problem.js';
import { buildGateway, type GatewayDeps } from '../src/http/server.js';

export { fail, type FakeHandlers } from '@latchkey/testing';

/** One call a fake service received: its method and the authorization metadata it came with. */
export interface ReceivedCall {
  service: FakeServiceName;
  method: string;
  authorization: string[];
  request: unknown;
}

/**
 * The gateway in-process (app.inject) in front of fake catalog, deployer and
 * ras on one real gRPC port (plaintext), so that what the gateway forwards
 * is what a service would receive. `set` replaces the handlers (per test).
 */
export interface FakeGateway {
  app: FastifyInstance;
  calls: ReceivedCall[];
  set(handlers: FakeHandlers): void;
  close(): Promise<void>;
}

export async function startFakeGateway(opts: Partial<Omit<GatewayDeps, 'upstream'>> = {}): Promise<FakeGateway> {
  let handlers: FakeHandlers = {};
  const calls: ReceivedCall[] = [];
  const server = new Server();
  for (const service of ['catalog', 'deployer', 'ras'] as const) {
    const definition = FAKE_SERVICE_DEFINITIONS[service];
    const received = (name: string, call: { metadata: Metadata; request: unknown }) =>
      calls.push({
        service,
        method: definition[name]?.path ?? name,
        authorization: call.metadata.get('authorization').map(String),
        request: call.request,
      });
    server.addService(
      definition,
      fakeService(service, () => handlers, received),
    );
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const addr = `127.0.0.1:${port}`;
  const upstream: Upstream = connectUpstream({ catalog: addr, deployer: addr, ras: addr }, undefined);
  const app = await buildGateway({ upstream, logger: silentLogger, bodyLimit: 64 * 1024, ...opts });
  return {
    app,
    calls,
    set: (h) => {
      handlers = h;
    },
    close: async () => {
      await app.close();
      upstream.close();
      server.forceShutdown();
    },
  };
}

/**
 * One fake gateway for the whole test file: started before its first test,
 * closed after its last; before each test its received calls are cleared and
 * `eachTest()` gives the handlers (it may reset the file's own state too).
 */
export function useFakeGateway(eachTest: () => FakeHandlers): FakeGateway {
  let gw: FakeGateway | undefined;
  const started = (): FakeGateway => {
    if (gw === undefined)
      throw new Error('useFakeGateway: the fake gateway is used before it started (in a test only)');
    return gw;
  };
  before(async () => {
    gw = await startFakeGateway();
  });
  after(() => started().close());
  beforeEach(() => {
    const g = started();
    g.calls.length = 0;
    g.set(eachTest());
  });
  return {
    get app() {
      return started().app;
    },
    get calls() {
      return started().calls;
    },
    set: (h) => started().set(h),
    close: () => started().close(),
  };
}

/** A token of the JWT's shape (the fakes do not verify it; the real services do). */
export const jwtLike = (sub: string): string =>
  `${Buffer.from('{"alg":"EdDSA"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub })).toString('base64url')}.c2ln`;

/** A managed secret's metadata as the fake catalog answers it: DB_PASSWORD in analytics, version 3. */
export const secretMeta = (over: Partial<SecretMetadata> = {}): SecretMetadata => ({
  scope: { domain: 'analytics', global: false },
  key: 'DB_PASSWORD',
  source: 'database',
  version: 3,
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-02T00:00:00Z',
  updatedBy: 'alice',
  description: '',
  rotateEvery: '',
  deletedAt: '',
  recoverUntil: '',
  ...over,
});

/** The problem+json body of an answer (asserts its content type). */
export const problemOf = (res: { headers: Record<string, unknown>; json(): unknown }): Problem => {
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  return res.json() as Problem;
};

/** Asserts that `res` is the problem+json answer `status` with this code and detail. */
export function assertProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
  expected: { code: string; detail: string },
): void {
  assert.equal(res.statusCode, status);
  const p = problemOf(res);
  assert.deepEqual({ code: p.code, detail: p.detail }, expected);
}

/** Requests to the fake gateway as the caller `authorization` names (`Bearer <token>`). */
export const injectAs =
  (gw: Pick<FakeGateway, 'app'>, authorization: string) =>
  (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: InjectOptions['payload']) =>
    gw.app.inject({ method, url, headers: { authorization }, ...(payload === undefined ? {} : { payload }) });
