/**
 * Issue 17 §2, on one whole system: every dependency fails during a
 * deployment and during a rotation, and each time the deployment is all or
 * nothing, its reasons name the dependency and the failure, nothing is left
 * half-done (no process started, nothing stuck resolving), and once the
 * dependency is back the next deployment or rotation goes through without
 * anything being restarted. The team's Vault is the https emulator (its CA
 * trusted through NODE_EXTRA_CA_CERTS); PostgreSQL is stopped with pg_ctl on
 * the system's cluster and nats-server is killed (the supervisor starts each
 * again); ras and the catalog are frozen with SIGSTOP. A resolver frozen for
 * longer than LATCHKEY_LIVENESS_TIMEOUT_MS is killed and started again by
 * latchkey up (its heartbeats stopped), as one whose event loop is blocked.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startVaultEmulator, waitFor, type VaultEmulator } from '@latchkey/testing';
import { assertNowhere } from './canary-scan.js';
import { recordedCli } from './recorded-cli.js';
import { natsPids, postgresPid } from './chaos/processes.js';
import { clusterDir, startSystem, systemProcesses, type RunningSystem } from './system-harness.js';
import { applyWorkload, computeWorkload, managedRef } from './workload-files.js';

const LIVENESS_MS = 45_000;

interface DeploymentJson {
  id: string;
  status: string;
  reasons?: string[];
  warnings?: string[];
  pid?: number;
  attempts?: number;
  trigger?: string;
  versions?: { key: string; version: number }[];
}
interface WorkloadJson {
  stale?: boolean;
  liveDeployment?: DeploymentJson;
  lastDeployment?: DeploymentJson;
}

const DOMAIN = 'analytics';

describe('dependency faults on one system: all or nothing, named, bounded, and back on their own', () => {
  let vault: VaultEmulator;
  let sys: RunningSystem;
  let cli: ReturnType<typeof recordedCli>;
  let integration: string;
  let token: string;
  let home: string;
  /** The running deployment of `job` that every failed deployment must leave alone. */
  let live: DeploymentJson;
  const canaries = [1, 2, 3].map((i) => `fault-canary-${i}-${randomBytes(10).toString('hex')}`);

  const get = async (name: string) =>
    JSON.parse((await cli.okPoll(['workload', 'get', name, '--domain', DOMAIN, '--json'])).stdout) as WorkloadJson;
  /** `deploy --wait --json`: the deployment as it ended, and the exit code. */
  const deploy = async (name: string) => {
    const r = await cli.cli(['deploy', name, '--domain', DOMAIN, '--wait', '--json']);
    return { code: r.code, d: JSON.parse(r.stdout) as DeploymentJson, stderr: r.stderr };
  };
  /** Starts a deployment without waiting. */
  const start = async (name: string) =>
    JSON.parse((await cli.ok(['deploy', name, '--domain', DOMAIN, '--json'])).stdout) as DeploymentJson;
  const deployment = async (name: string, id: string) => {
    const w = await get(name);
    assert.equal(w.lastDeployment?.id, id, 'no other deployment of it started');
    return w.lastDeployment;
  };
  /** Waits until deployment `id` of `name` shows `status` (and `also`, when given). */
  const reaches = (name: string, id: string, status: string, what: string, also = (_d: DeploymentJson) => true) =>
    waitFor(
      async () => {
        const d = await deployment(name, id);
        return d?.status === status && also(d) ? d : undefined;
      },
      { what, timeoutMs: 60_000 },
    );
  /** The failed deployment left nothing: no process, nothing resolving, the running one untouched. */
  const nothingHalfDone = async (d: DeploymentJson) => {
    assert.equal(d.status, 'failed');
    assert.ok(!d.pid, `a failed deployment started no process (pid ${d.pid})`);
    const w = await get('job');
    assert.equal(w.liveDeployment?.id, live.id, 'the running deployment is still the live one');
    assert.equal(w.liveDeployment?.status, 'deployed');
    assert.doesNotThrow(() => process.kill(live.pid!, 0), 'the running process was not stopped');
  };
  /** A Vault fault on the integration's data and metadata paths; the returned function clears it. */
  const vaultFault = (kind: Parameters<VaultEmulator['injectFault']>[1]) => {
    const clears = [vault.injectFault('secret/data/team/', kind), vault.injectFault('secret/metadata/team/', kind)];
    return () => clears.forEach((c) => c());
  };
  /** `deploy('job')` while a fault is on; `clear` ends the fault whatever the deploy did. */
  const deployDuring = async (clear: () => void) => {
    try {
      return await deploy('job');
    } finally {
      clear();
    }
  };
  /** pids of this system's processes whose command line matches `pattern`. */
  const pidsOf = async (pattern: RegExp) =>
    (await systemProcesses(sys.home)).filter((p) => pattern.test(p.cmd.join(' '))).map((p) => p.pid);
  const signal = (pids: number[], sig: NodeJS.Signals) => pids.forEach((p) => process.kill(p, sig));

  before(async () => {
    vault = await startVaultEmulator({ tls: true });
    home = await mkdtemp(join(tmpdir(), 'latchkey-faults-'));
    const caFile = join(home, 'vault-ca.pem');
    await writeFile(caFile, vault.ca!, { mode: 0o644 });
    sys = await startSystem({
      home,
      // The start is not what this file measures: give a loaded machine time.
      timeoutMs: 300_000,
      env: {
        LATCHKEY_VAULT_ALLOWED_HOSTS: '127.0.0.1',
        LATCHKEY_VAULT_TIMEOUT_MS: '1000',
        LATCHKEY_VAULT_WATCH_INTERVAL_S: '0.5',
        LATCHKEY_REDEPLOY_COOLDOWN_S: '1',
        LATCHKEY_REDEPLOY_SCAN_INTERVAL_S: '1',
        NODE_EXTRA_CA_CERTS: caFile,
        // PostgreSQL is restarted here: it runs as a real installation does, with fsync.
        LATCHKEY_PG_DURABLE: '1',
        // Longer than the catalog and ras stay frozen below (a 15-s call deadline, then the refusal).
        LATCHKEY_LIVENESS_TIMEOUT_MS: String(LIVENESS_MS),
      },
    });
    cli = recordedCli(sys);
    token = await vault.addToken(['secret/data/team', 'secret/metadata/team']);
    await vault.putSecret('secret', 'team/db_password', { value: canaries[0] });
    await vault.putSecret('secret', 'team/rot', { value: canaries[1] });
    await cli.ok(['domain', 'create', DOMAIN]);
    await cli.ok(['bundle', 'create', 'team-vault', '--domain', DOMAIN]);
    await cli.ok(['secret', 'put', 'api_key', '--domain', DOMAIN], canaries[2]);
    const created = await cli.ok(
      [
        'vault',
        'create',
        '--domain',
        DOMAIN,
        '--name',
        'team',
        '--host',
        vault.url,
        '--path',
        '/v1/secret/data/team',
        '--auth',
        'token',
        '--bundle',
        'team-vault',
        '--json',
      ],
      token,
    );
    integration = (JSON.parse(created.stdout) as { id: string }).id;
    const vaultRef = (key: string) => ({ key, source: { type: 'VAULT', id: integration } });
    await applyWorkload(
      cli.ok,
      sys.home,
      DOMAIN,
      computeWorkload('job', { DB_PASSWORD: vaultRef('db_password'), API_KEY: managedRef('api_key', DOMAIN) }),
    );
    await applyWorkload(cli.ok, sys.home, DOMAIN, {
      ...computeWorkload('rotating', { ROT: vaultRef('rot'), API_KEY: managedRef('api_key', DOMAIN) }),
      redeployPolicy: { mode: 'auto', maxConcurrent: 1 },
    });
    // Deployed first while ras is frozen: no decision about deploying it can be in a cache.
    await applyWorkload(
      cli.ok,
      sys.home,
      DOMAIN,
      computeWorkload('ras-job', { API_KEY: managedRef('api_key', DOMAIN) }),
    );
    for (const name of ['job', 'rotating']) {
      const first = await deploy(name);
      assert.equal(first.d.status, 'deployed', first.stderr);
    }
    live = (await get('job')).liveDeployment!;
  });

  after(async () => {
    try {
      if (sys) await assertNowhere(sys, [token, ...canaries], cli.outputs);
    } finally {
      await sys?.cleanup();
      await vault?.stop();
      if (home) await rm(home, { recursive: true, force: true });
    }
  });

  const integrationName = /Vault integration "analytics\/team" \(https:\/\/127\.0\.0\.1:\d+\)/;

  for (const [kind, code, says] of [
    [403, 'vault.permission_denied', /permission denied reading secret\/data\/team\/db_password.*\(HTTP 403\)/],
    [404, 'vault.not_found', /key "db_password" does not exist/],
  ] as const) {
    test(`Vault ${kind}: the deployment fails at once, naming the integration and the refusal`, async () => {
      const out = await deployDuring(vaultFault(kind));
      assert.equal(out.code, 1);
      const reason = (out.d.reasons ?? []).join('\n');
      assert.match(reason, integrationName);
      assert.match(reason, says);
      assert.match(reason, new RegExp(`\\[${code.replace('.', '\\.')}\\]`));
      assert.ok(!out.d.attempts, 'not waited for: a later attempt would meet the same answer');
      await nothingHalfDone(out.d);
    });
  }

  test('a bad certificate (untrusted CA, another host name) fails the deployment at once, saying what is wrong with it', async () => {
    for (const [bad, says] of [
      [
        'untrusted',
        /TLS handshake failed \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: the certificate is not issued by a CA the catalog trusts\)/,
      ],
      ['wrong-host', /TLS handshake failed \(ERR_TLS_CERT_ALTNAME_INVALID: the certificate is for another host name\)/],
    ] as const) {
      const out = await deployDuring(vault.presentBadCertificate(bad));
      const reason = (out.d.reasons ?? []).join('\n');
      assert.match(reason, integrationName);
      assert.match(reason, says);
      assert.match(reason, /\[vault\.tls_failure\]/);
      await nothingHalfDone(out.d);
    }
  });

  test('Vault sealed (503) throughout: the deployment waits a bounded number of attempts, then fails saying so', async () => {
    const out = await deployDuring(vaultFault(503));
    const reason = (out.d.reasons ?? []).join('\n');
    assert.match(reason, integrationName);
    assert.match(reason, /Vault is sealed; reading secret\/data\/team\/db_password failed.*\(HTTP 503\)/);
    assert.match(reason, /\(gave up after 6 attempts\)/);
    assert.match(reason, /\[vault\.sealed\]/);
    await nothingHalfDone(out.d);
  });

  for (const [kind, waitsFor] of [
    [429, /rate limit quota refused reading secret\/data\/team\/db_password.*\[vault\.rate_limited\]/],
    [500, /Vault failed reading secret\/data\/team\/db_password \(a server error\).*\[vault\.server_error\]/],
    ['hang', /no answer within 1000 ms while reading secret\/data\/team\/db_password.*\[vault\.unreachable\]/],
  ] as const) {
    test(`Vault ${kind}: the deployment waits, saying for what, and resolves on its own once Vault answers`, async () => {
      const clear = vaultFault(kind);
      let started;
      try {
        started = await start('job');
        await reaches('job', started.id, 'resolving', `the deployment to wait for the Vault ${kind}`, (d) =>
          waitsFor.test((d.reasons ?? []).join('\n')),
        );
      } finally {
        clear();
      }
      const done = await reaches('job', started.id, 'deployed', 'the deployment to resolve once Vault answers');
      assert.ok(
        done.warnings?.some((w) => /resolved on attempt \d of 6, after waiting/.test(w)),
        String(done.warnings),
      );
      live = (await get('job')).liveDeployment!;
      assert.equal(live.id, started.id);
    });
  }

  test('a rotation in Vault while it is sealed is noticed once it is unsealed, and the auto workload is redeployed', async () => {
    const before = (await get('rotating')).liveDeployment!;
    const clear = vaultFault(503);
    try {
      vault.clearRequests();
      await vault.putSecret('secret', 'team/rot', { value: `${canaries[1]}-2` });
      // The watch asked while sealed (and was refused): the workload is not marked stale for it.
      await waitFor(() => vault.requests().some((r) => r.path === '/v1/secret/metadata/team/rot'), {
        what: 'the version watch to ask the sealed Vault',
        timeoutMs: 20_000,
      });
      assert.notEqual((await get('rotating')).stale, true);
    } finally {
      clear();
    }
    const redeployed = await waitFor(
      async () => {
        const d = (await get('rotating')).liveDeployment;
        return d && d.id !== before.id && d.status === 'deployed' ? d : undefined;
      },
      { what: 'the auto workload to be redeployed once Vault answers', timeoutMs: 60_000 },
    );
    assert.equal(redeployed.trigger, 'auto');
    assert.deepEqual(redeployed.versions?.find((v) => v.key === 'rot')?.version, 2);
  });

  test('the catalog frozen (SIGSTOP): the deployment waits for it, naming it, and resolves once it runs again', async () => {
    const catalog = await pidsOf(/services\/catalog\/dist\/src\/main\.js/);
    assert.ok(catalog.length > 0, 'the catalog process');
    signal(catalog, 'SIGSTOP');
    let started;
    try {
      started = await start('job');
      await reaches('job', started.id, 'resolving', 'the deployment to wait for the catalog', (d) =>
        /catalog\.unavailable/.test((d.reasons ?? []).join('\n')),
      );
    } finally {
      signal(catalog, 'SIGCONT');
    }
    await reaches('job', started.id, 'deployed', 'the deployment to resolve once the catalog runs');
    live = (await get('job')).liveDeployment!;
  });

  test('ras frozen (SIGSTOP): a deploy is refused naming ras, nothing is recorded, and works once ras runs again', async () => {
    const ras = await pidsOf(/services\/ras\/dist\/src\/main\.js/);
    assert.ok(ras.length > 0, 'the ras process');
    signal(ras, 'SIGSTOP');
    let refused;
    try {
      refused = await cli.cli(['deploy', 'ras-job', '--domain', DOMAIN, '--wait']);
    } finally {
      signal(ras, 'SIGCONT');
    }
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /ras/);
    assert.equal((await get('ras-job')).lastDeployment, undefined, 'no deployment was recorded');
    const again = await deploy('ras-job');
    assert.equal(again.d.status, 'deployed', again.stderr);
  });

  test('PostgreSQL stopped: latchkey up starts it again; a deploy and a rotation meanwhile are refused naming the database or go through, change nothing half-way, and work after', async () => {
    const dir = clusterDir(sys.home);
    const before = await postgresPid(sys.home);
    await pgCtl(dir, ['stop', '-m', 'fast', '-w']);
    // The supervisor starts PostgreSQL again (bounded backoff): these run during the outage or
    // just after it; either way an answer is whole: refused naming the database, or done.
    const deployed = await cli.cli(['deploy', 'job', '--domain', DOMAIN, '--wait']);
    const put = await cli.cli(['secret', 'put', 'api_key', '--domain', DOMAIN], `${canaries[2]}-2`);
    if (deployed.code !== 0) assert.match(deployed.stderr, /database unavailable/);
    if (put.code !== 0) assert.match(put.stderr, /database unavailable/);
    // latchkey up says it restarted PostgreSQL once the new postmaster is ready (its pid file comes first).
    const after = await waitFor(
      async () => {
        if (!sys.output().includes('latchkey: PostgreSQL restarted')) return undefined;
        const pid = await postgresPid(sys.home).catch(() => undefined);
        return pid !== undefined && pid !== before ? pid : undefined;
      },
      { what: 'latchkey up to start PostgreSQL again (and say so)', timeoutMs: 60_000 },
    );
    assert.notEqual(after, before);
    assert.match(sys.output(), /latchkey: PostgreSQL stopped unexpectedly \(.*; restarting it in \d+ ms/);
    // The services found their database again on their own: a deploy and a rotation go through.
    const again = await deploy('job');
    assert.equal(again.d.status, 'deployed', again.stderr);
    live = (await get('job')).liveDeployment!;
    const apiKeyVersion = (d: DeploymentJson | undefined) => d?.versions?.find((v) => v.key === 'api_key')?.version;
    // A rotation that went through during the outage redeploys the auto workload too; that redeploy
    // is awaited here, or the one below could be it.
    if (put.code === 0)
      await waitFor(
        async () => {
          const d = (await get('rotating')).liveDeployment;
          return d?.status === 'deployed' && apiKeyVersion(d) === 2 ? d : undefined;
        },
        { what: 'the rotation made while PostgreSQL was down to redeploy the auto workload', timeoutMs: 60_000 },
      );
    const rotatedFrom = (await get('rotating')).liveDeployment!;
    const version = put.code === 0 ? 3 : 2;
    await cli.ok(['secret', 'put', 'api_key', '--domain', DOMAIN], `${canaries[2]}-${version}`);
    const redeployed = await waitFor(
      async () => {
        const d = (await get('rotating')).liveDeployment;
        return d && d.id !== rotatedFrom.id && d.status === 'deployed' ? d : undefined;
      },
      { what: 'the rotation after the restart to redeploy the auto workload', timeoutMs: 60_000 },
    );
    assert.equal(apiKeyVersion(redeployed), version);
  });

  test('nats-server killed: the supervisor starts it again, and a deployment made meanwhile goes through', async () => {
    const nats = await natsPids(sys.home);
    assert.equal(nats.length, 1, 'one nats-server');
    signal(nats, 'SIGKILL');
    const out = await deploy('job');
    assert.equal(out.d.status, 'deployed', `${out.stderr}\n${sys.output().slice(-2000)}`);
    const again = await natsPids(sys.home);
    assert.equal(again.length, 1);
    assert.notEqual(again[0], nats[0], 'a new nats-server');
  });

  test('the resolver frozen past the liveness timeout (SIGSTOP, never continued): latchkey up kills it, says why, starts it again, and a deploy then goes through', async () => {
    const [frozen] = await pidsOf(/services\/resolver\/dist\/src\/main\.js/);
    assert.ok(frozen !== undefined, 'the resolver process');
    const restartedLine = /latchkey: service resolver-1 restarted/;
    assert.doesNotMatch(sys.output(), restartedLine);
    signal([frozen], 'SIGSTOP');
    let out: string;
    try {
      out = await waitFor(async () => (restartedLine.test(sys.output()) ? sys.output() : undefined), {
        what: 'latchkey up to kill the frozen resolver and start it again',
        timeoutMs: LIVENESS_MS + 90_000,
      });
    } finally {
      // Only if it is still there (the test failed): a stopped process would outlive the system.
      try {
        process.kill(frozen, 'SIGCONT');
      } catch {
        // gone, as it should be
      }
    }
    assert.match(
      out,
      /latchkey: service resolver-1 stopped unexpectedly \(signal SIGKILL, killed by latchkey up: no heartbeat for \d+\.\d s, its event loop is blocked \(its process is stopped \(SIGSTOP, or a debugger holds it\)\); it is started again\)/,
    );
    const [now] = await pidsOf(/services\/resolver\/dist\/src\/main\.js/);
    assert.ok(now !== undefined && now !== frozen, 'a new resolver process');
    const again = await deploy('job');
    assert.equal(again.d.status, 'deployed', `${again.stderr}\n${sys.output().slice(-2000)}`);
  });
});

/** The words of the cluster's postmaster.opts: the postgres binary, then its arguments. */
async function postmasterWords(dir: string): Promise<string[]> {
  const opts = await readFile(join(dir, 'postmaster.opts'), 'utf8');
  return (opts.match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"|"$/g, ''));
}

/** Runs pg_ctl on `dir` as the cluster's owner (OS user postgres when the test runs as root). */
async function pgCtl(dir: string, args: string[]): Promise<void> {
  // The postgres binary the cluster runs is the first word of postmaster.opts; pg_ctl sits beside it.
  const [bin] = await postmasterWords(dir);
  const pgctl = join(bin!, '..', 'pg_ctl');
  const asPostgres = process.getuid?.() === 0 ? await postgresIds() : undefined;
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(pgctl, ['-D', dir, ...args], {
      stdio: 'ignore',
      ...(asPostgres ? { uid: asPostgres.uid, gid: asPostgres.gid } : {}),
    });
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  assert.equal(code, 0, `pg_ctl ${args.join(' ')} on ${dir}`);
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const line = (await readFile('/etc/passwd', 'utf8')).split('\n').find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line!.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
