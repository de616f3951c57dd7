/**
 * The emulators held to independent clients: `kubectl` and the Python
 * Kubernetes client against the Kubernetes emulator, `hvac` against the Vault
 * emulator, for the calls Latchkey makes. What passes here is what those
 * clients accept from a real API server or Vault, not only what our own code
 * expects. The Python modules are Debian's (python3-kubernetes, python3-hvac),
 * installed by the project itself like nats-server; a suite is skipped, with
 * the reason printed, only when they cannot be installed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  PYTHON_HVAC,
  PYTHON_KUBERNETES,
  ensureSystemBinary,
  ensureSystemPythonModule,
  type SystemPythonModule,
} from '@latchkey/embedded';
import { startKubernetesEmulator } from './kubernetes-emulator/server.js';
import type { KubernetesEmulator } from './kubernetes-emulator/types.js';
import { tempDir, type TempDir } from './temp-dir.js';
import { startVaultEmulator } from './vault-emulator/server.js';
import type { VaultEmulator } from './vault-emulator/types.js';
import { waitFor } from './wait-for.js';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        // A HOME of their own: nothing the clients cache lands in the user's home or the working directory.
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir?.path ?? os.tmpdir(), ...opts.env },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        if (err !== null && code === -1) reject(err);
        else resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** Why a suite cannot run (printed), or undefined. */
async function skipReason(need: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await need();
    return undefined;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    console.log(`# skipped: ${reason}`);
    return reason;
  }
}

const pythonFor = (m: SystemPythonModule) => ensureSystemPythonModule(m, { log: (l) => console.log(`# ${l}`) });
const kubectlMissing = await skipReason(() =>
  ensureSystemBinary(
    { binary: 'kubectl', aptPackage: 'kubernetes-client', envVar: 'LATCHKEY_KUBECTL_BIN', alternative: '' },
    { allowInstall: false },
  ),
);
const pythonKubernetesMissing = await skipReason(() => pythonFor(PYTHON_KUBERNETES));
const hvacMissing = await skipReason(() => pythonFor(PYTHON_HVAC));

/** One TLS emulator for the Kubernetes clients (kubectl sends a token only over TLS), with its kubeconfig. */
let k8s: KubernetesEmulator;
let dir: TempDir;
let kubeconfig: string;
let caFile: string;
before(async () => {
  if (kubectlMissing !== undefined && pythonKubernetesMissing !== undefined) return;
  k8s = await startKubernetesEmulator({ tls: true, gcDelayMs: 300 });
  dir = await tempDir('latchkey-emulator-clients-');
  kubeconfig = path.join(dir.path, 'kubeconfig');
  caFile = path.join(dir.path, 'ca.crt');
  await fs.writeFile(kubeconfig, k8s.kubeConfigYaml(), { mode: 0o600 });
  await fs.writeFile(caFile, k8s.caPem ?? '');
});
after(async () => {
  await k8s?.stop();
  await dir?.cleanup();
});

const VALUE = 'emulator-client-canary-3f9a';
const kubectlFlags = () => ['--kubeconfig', kubeconfig, '--cache-dir', path.join(dir.path, 'kube-cache')];

describe('kubectl against the Kubernetes emulator', { skip: kubectlMissing ?? false }, () => {
  // Its discovery cache goes to the test's folder, not to $HOME or the working directory.
  const kubectl = (...args: string[]) => run('kubectl', [...kubectlFlags(), ...args]);
  const ok = async (...args: string[]) => {
    const r = await kubectl(...args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  test('creates, gets, describes, reads the log of and deletes what Latchkey creates', async () => {
    await ok('create', 'namespace', 'latchkey-kubectl');
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'lk-etl-1', labels: { 'app.kubernetes.io/managed-by': 'latchkey' } },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'workload', image: 'busybox' }] },
    };
    const created = await run(
      'kubectl',
      [...kubectlFlags(), 'create', '-n', 'latchkey-kubectl', '-f', '-', '-o', 'json'],
      { input: JSON.stringify(pod) },
    );
    assert.equal(created.code, 0, created.stderr);
    const uid = (JSON.parse(created.stdout) as { metadata: { uid: string } }).metadata.uid;
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: 'lk-etl-1-values',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'lk-etl-1', uid, controller: true }],
      },
      stringData: { DB_PASSWORD: VALUE },
    };
    const made = await run('kubectl', [...kubectlFlags(), 'create', '-n', 'latchkey-kubectl', '-f', '-'], {
      input: JSON.stringify(secret),
    });
    assert.equal(made.code, 0, made.stderr);
    k8s.setPodPhase('latchkey-kubectl', 'lk-etl-1', 'Running');
    k8s.appendPodLog('latchkey-kubectl', 'lk-etl-1', 'started\n');

    const listed = await ok('get', 'pods,secrets', '-n', 'latchkey-kubectl');
    assert.match(listed, /pod\/lk-etl-1\s+1\/1\s+Running/);
    assert.match(listed, /secret\/lk-etl-1-values\s+Opaque\s+1/);
    const described = await ok('describe', 'pod', 'lk-etl-1', '-n', 'latchkey-kubectl');
    assert.match(described, /Status:\s+Running/);
    const describedSecret = await ok('describe', 'secret', 'lk-etl-1-values', '-n', 'latchkey-kubectl');
    assert.match(describedSecret, new RegExp(`DB_PASSWORD:\\s+${VALUE.length} bytes`));
    for (const out of [listed, described, describedSecret]) assert.ok(!out.includes(VALUE), 'no value printed');
    assert.equal(await ok('logs', 'lk-etl-1', '-n', 'latchkey-kubectl'), 'started\n');

    // kubectl waits for the Pod to be gone: its grace period (1 s); the Secret is collected after.
    const del = kubectl('delete', 'pod', 'lk-etl-1', '-n', 'latchkey-kubectl');
    await waitFor(() => k8s.pods('latchkey-kubectl')[0]?.metadata.deletionTimestamp, { what: 'the Pod Terminating' });
    assert.match(await ok('get', 'pods', '-n', 'latchkey-kubectl'), /lk-etl-1\s+0\/1\s+Terminating/);
    const deleted = await del;
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /pod "lk-etl-1" deleted/);
    await waitFor(() => k8s.secrets('latchkey-kubectl').length === 0, { what: 'the values Secret collected' });
  });

  test('a missing namespace, a bad namespace name and a bad label value are refused as a real server does', async () => {
    const missing = await kubectl('create', 'secret', 'generic', 's', '--from-literal=A=b', '-n', 'latchkey-missing');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /namespaces "latchkey-missing" not found/);
    const badName = await kubectl('create', 'namespace', 'latchkey-a-');
    assert.notEqual(badName.code, 0);
    assert.match(
      badName.stderr,
      /The Namespace "latchkey-a-" is invalid: metadata\.name: Invalid value: "latchkey-a-"/,
    );
    await ok('create', 'namespace', 'latchkey-labels');
    const badLabel = await run('kubectl', [...kubectlFlags(), 'create', '-n', 'latchkey-labels', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's', labels: { 'latchkey.dev/domain': 'a-' } },
      }),
    });
    assert.notEqual(badLabel.code, 0);
    assert.match(badLabel.stderr, /The Secret "s" is invalid: metadata\.labels: Invalid value: "a-"/);
  });
});

/** Runs a Python script with the system Python; its last stdout line is JSON. */
async function python(script: string, env: Record<string, string>): Promise<Record<string, unknown>> {
  const r = await run('/usr/bin/python3', ['-c', script], { env });
  assert.equal(r.code, 0, `python failed: ${r.stderr}`);
  const last = r.stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(last) as Record<string, unknown>;
}

const PY_K8S_PRELUDE = `
import json, os
from kubernetes import client
from kubernetes.client.rest import ApiException
cfg = client.Configuration()
cfg.host = os.environ['K8S_URL']
cfg.ssl_ca_cert = os.environ['K8S_CA']
cfg.api_key = {'authorization': os.environ['K8S_TOKEN']}
cfg.api_key_prefix = {'authorization': 'Bearer'}
api = client.CoreV1Api(client.ApiClient(cfg))
ns = 'latchkey-python'
def refusal(call):
    try:
        call()
        return None
    except ApiException as e:
        body = json.loads(e.body)
        return {'status': e.status, 'reason': body.get('reason'), 'message': body.get('message'), 'kind': body.get('kind')}
`;

describe(
  'the Python Kubernetes client against the Kubernetes emulator',
  { skip: pythonKubernetesMissing ?? false },
  () => {
    const env = () => ({ K8S_URL: k8s.url, K8S_CA: caFile, K8S_TOKEN: k8s.token, VALUE });

    test('namespace, Pod and owned Secret: create, read, list, log, graceful delete; refusals as Status', async () => {
      const first = await python(
        `${PY_K8S_PRELUDE}
out = {}
out['missing_ns'] = refusal(lambda: api.create_namespaced_secret('latchkey-nowhere', {'metadata': {'name': 's'}}))
api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
pod = api.create_namespaced_pod(ns, {'metadata': {'name': 'lk-py-1', 'labels': {'latchkey.dev/deployment': 'd1'}},
    'spec': {'restartPolicy': 'Never', 'terminationGracePeriodSeconds': 1,
             'containers': [{'name': 'workload', 'image': 'busybox',
                             'env': [{'name': 'DB_PASSWORD', 'valueFrom': {'secretKeyRef': {'name': 'lk-py-1-values', 'key': 'DB_PASSWORD'}}}]}]}})
owner = {'apiVersion': 'v1', 'kind': 'Pod', 'name': 'lk-py-1', 'uid': pod.metadata.uid, 'controller': True}
api.create_namespaced_secret(ns, {'metadata': {'name': 'lk-py-1-values', 'labels': {'latchkey.dev/deployment': 'd1'}, 'ownerReferences': [owner]},
    'type': 'Opaque', 'stringData': {'DB_PASSWORD': os.environ['VALUE']}})
s = api.read_namespaced_secret('lk-py-1-values', ns)
out['secret_keys'] = sorted(s.data.keys())
out['string_data_returned'] = s.string_data is not None
out['listed'] = [x.metadata.name for x in api.list_namespaced_secret(ns, label_selector='latchkey.dev/deployment=d1').items]
out['phase'] = api.read_namespaced_pod('lk-py-1', ns).status.phase
out['bad_label'] = refusal(lambda: api.create_namespaced_secret(ns, {'metadata': {'name': 'x', 'labels': {'latchkey.dev/domain': 'a-'}}}))
out['too_big'] = refusal(lambda: api.create_namespaced_secret(ns, {'metadata': {'name': 'big'}, 'stringData': {'A': 'x' * 1048577}}))
out['exists'] = refusal(lambda: api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns))))
print(json.dumps(out))
`,
        env(),
      );
      assert.deepEqual(first['missing_ns'], {
        status: 404,
        reason: 'NotFound',
        message: 'namespaces "latchkey-nowhere" not found',
        kind: 'Status',
      });
      assert.deepEqual(first['secret_keys'], ['DB_PASSWORD']);
      assert.equal(first['string_data_returned'], false);
      assert.deepEqual(first['listed'], ['lk-py-1-values']);
      assert.equal(first['phase'], 'Pending');
      assert.equal((first['bad_label'] as { status: number; reason: string }).status, 422);
      assert.equal((first['bad_label'] as { reason: string }).reason, 'Invalid');
      assert.equal(
        (first['too_big'] as { message: string }).message,
        'Secret "big" is invalid: data: Too long: must have at most 1048576 bytes',
      );
      assert.equal((first['exists'] as { status: number }).status, 409);

      k8s.setPodPhase('latchkey-python', 'lk-py-1', 'Running');
      k8s.appendPodLog('latchkey-python', 'lk-py-1', 'line one\n');
      const second = await python(
        `${PY_K8S_PRELUDE}
out = {}
out['log'] = api.read_namespaced_pod_log('lk-py-1', ns, container='workload')
d = api.delete_namespaced_pod('lk-py-1', ns)
out['grace'] = d.metadata.deletion_grace_period_seconds
out['terminating'] = api.read_namespaced_pod('lk-py-1', ns).metadata.deletion_timestamp is not None
out['secret_still_there'] = [x.metadata.name for x in api.list_namespaced_secret(ns).items]
print(json.dumps(out))
`,
        env(),
      );
      assert.deepEqual(second, {
        log: 'line one\n',
        grace: 1,
        terminating: true,
        secret_still_there: ['lk-py-1-values'],
      });
      await waitFor(() => k8s.pods('latchkey-python').length === 0, { what: 'the Pod gone after its grace period' });
      await waitFor(() => k8s.secrets('latchkey-python').length === 0, { what: 'the owned Secret collected' });
    });
  },
);

describe('hvac against the Vault emulator', { skip: hvacMissing ?? false }, () => {
  let vault: VaultEmulator;
  before(async () => {
    vault = await startVaultEmulator({ kv1Mounts: ['legacy'] });
    await vault.addAppRole('role-1', 'secret-1', ['secret/data/team/', 'secret/metadata/team/']);
  });
  after(async () => {
    await vault?.stop();
  });

  test('KV v2 and v1 reads and writes, mounts, seal status, token lookup and AppRole login', async () => {
    const out = await python(
      `
import json, os, hvac
out = {}
c = hvac.Client(url=os.environ['VAULT_ADDR'], token=os.environ['VAULT_TOKEN'])
out['authenticated'] = c.is_authenticated()
out['sealed'] = c.sys.read_seal_status()['sealed']
c.sys.enable_secrets_engine('kv', path='kv1', options={'version': '1'})
mounts = c.sys.list_mounted_secrets_engines()['data']
out['mounts'] = {k: (v['type'], (v.get('options') or {}).get('version')) for k, v in mounts.items() if v['type'] == 'kv'}
out['ui_kv1'] = c.adapter.get('/v1/sys/internal/ui/mounts/kv1')['data']['options']
out['ui_secret'] = c.adapter.get('/v1/sys/internal/ui/mounts/secret/team/app')['data']['path']
w = c.secrets.kv.v2.create_or_update_secret(path='team/app', secret={'value': os.environ['VALUE']})
out['written_version'] = w['data']['version']
c.secrets.kv.v2.create_or_update_secret(path='team/app', secret={'value': 'second'}, cas=1)
r = c.secrets.kv.v2.read_secret_version(path='team/app', version=1)
out['v1_value_matches'] = r['data']['data']['value'] == os.environ['VALUE']
out['current'] = c.secrets.kv.v2.read_secret_metadata(path='team/app')['data']['current_version']
out['listed'] = c.adapter.get('/v1/secret/metadata/team', params={'list': 'true'})['data']['keys']
c.secrets.kv.v1.create_or_update_secret(path='old/app', secret={'value': 'v1-value'}, mount_point='kv1')
out['kv1_read'] = c.secrets.kv.v1.read_secret(path='old/app', mount_point='kv1')['data']
try:
    c.secrets.kv.v2.read_secret_version(path='old/app', mount_point='kv1')
    out['kv2_on_kv1'] = 'read'
except hvac.exceptions.InvalidPath:
    out['kv2_on_kv1'] = 'InvalidPath'
try:
    c.secrets.kv.v2.read_secret_version(path='nothing/here')
    out['missing'] = 'read'
except hvac.exceptions.InvalidPath:
    out['missing'] = 'InvalidPath'
a = hvac.Client(url=os.environ['VAULT_ADDR'])
login = a.auth.approle.login(role_id='role-1', secret_id='secret-1')
out['approle_lease'] = login['auth']['lease_duration']
out['approle_reads'] = a.secrets.kv.v2.read_secret_version(path='team/app')['data']['metadata']['version']
try:
    a.secrets.kv.v2.read_secret_version(path='other/app')
    out['denied'] = 'read'
except hvac.exceptions.Forbidden:
    out['denied'] = 'Forbidden'
bad = hvac.Client(url=os.environ['VAULT_ADDR'], token='hvs.not-a-token')
out['bad_token_authenticated'] = bad.is_authenticated()
print(json.dumps(out))
`,
      { VAULT_ADDR: vault.url, VAULT_TOKEN: vault.rootToken, VALUE },
    );
    assert.deepEqual(out, {
      authenticated: true,
      sealed: false,
      mounts: { 'secret/': ['kv', '2'], 'legacy/': ['kv', '1'], 'kv1/': ['kv', '1'] },
      ui_kv1: { version: '1' },
      ui_secret: 'secret/',
      written_version: 1,
      v1_value_matches: true,
      current: 2,
      listed: ['app'],
      kv1_read: { value: 'v1-value' },
      kv2_on_kv1: 'InvalidPath',
      missing: 'InvalidPath',
      approle_lease: 1200,
      approle_reads: 2,
      denied: 'Forbidden',
      bad_token_authenticated: false,
    });
  });
});
