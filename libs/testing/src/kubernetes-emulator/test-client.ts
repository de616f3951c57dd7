/**
 * What the Kubernetes emulator's tests share: one emulator per file, raw calls
 * (so assertions see the exact wire shapes) and small builders.
 */
import assert from 'node:assert/strict';
import { ApiException, CoreV1Api } from '@kubernetes/client-node';
import { startedForTests } from '../emulator-common/test-fixture.js';
import { startKubernetesEmulator } from './server.js';
import type { KubernetesEmulator } from './types.js';

let nsCount = 0;
/** The emulator of the current test file's fixture, in which `freshNs` creates its namespaces. */
let fixtureEmulator: KubernetesEmulator | undefined;
/** A fresh namespace per test, created in the file's emulator (a missing namespace answers 404). */
export function freshNs(): string {
  const name = `ns-${++nsCount}`;
  fixtureEmulator?.createNamespace(name);
  return name;
}

export interface Reply {
  status: number;
  contentType: string | null;
  body: Record<string, unknown>;
}

export interface CallOptions {
  contentType?: string;
  /** Default: the emulator's token; null sends none. */
  token?: string | null;
}

/** A raw call, so that the exact wire shapes are what the assertions see. */
export async function call(
  emu: KubernetesEmulator,
  method: string,
  path: string,
  body?: unknown,
  opts: CallOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? emu.token : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), body: JSON.parse(text) as never };
}

export const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
export const secretsPath = (ns: string, name?: string) =>
  `/api/v1/namespaces/${ns}/secrets${name === undefined ? '' : `/${name}`}`;
export const rvOf = (r: Reply) => Number((r.body.metadata as { resourceVersion: string }).resourceVersion);

/** The Status body the API server answers on a failure, as the wire facts give it. */
export function failureStatus(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details === undefined ? {} : { details }),
    code,
  };
}

export function api(emu: KubernetesEmulator): CoreV1Api {
  return emu.kubeConfig().makeApiClient(CoreV1Api);
}

export async function apiError(p: Promise<unknown>): Promise<ApiException<string>> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiException, `expected an ApiException, got ${String(err)}`);
    return err as ApiException<string>;
  }
  assert.fail('expected the call to fail');
}

export interface KubernetesFixture {
  /** The emulator, once `before` has started it. */
  readonly emu: KubernetesEmulator;
  /** A raw call to the fixture's emulator. */
  call(method: string, path: string, body?: unknown, opts?: CallOptions): Promise<Reply>;
  /** A CoreV1Api client of the fixture's emulator. */
  api(): CoreV1Api;
}

/** Starts an emulator before the file's tests and stops it after them. */
export function useKubernetesEmulator(): KubernetesFixture {
  const emu = startedForTests('the Kubernetes emulator', async () => {
    fixtureEmulator = await startKubernetesEmulator({ token: 'emulator-test-token' });
    return fixtureEmulator;
  });
  return {
    get emu() {
      return emu();
    },
    call: (method, path, body, opts) => call(emu(), method, path, body, opts),
    api: () => api(emu()),
  };
}
