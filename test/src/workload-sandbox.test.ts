import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SYSTEM_DIR, systemFolderFor } from '@latchkey/cli';
import { waitForLogs } from './workload-files.js';
import { reachableRepo, startSystem, systemPids, type RunAs, type RunningSystem } from './system-harness.js';

const isRoot = process.getuid?.() === 0;

// The hostile workload: tries every path to another domain's values and the
// platform's keys, and prints what each attempt got as hex (so that no
// redaction of the output can hide a find), in lines of
// `probe <name> ok|denied <hex of 2 KiB, each byte XOR 0x5a>`. Targets come in literal
// env vars. The attempts on its own files and process must succeed: they
// show that the probes work at all.
const HOSTILE = String.raw`
const fs = require('fs'), cp = require('child_process');
const out = (name, ok, data) => {
  // In 2 KiB pieces (a stored output line is capped), up to 16 KiB.
  // XORed: the deployer's redaction knows a value's hex form, and must not hide a find from the test.
  const b = Buffer.from(Buffer.from(data === undefined ? '' : data).subarray(0, 16384).map((x) => x ^ 0x5a));
  for (let i = 0; i === 0 || i < b.length; i += 2048)
    console.log('probe ' + name + ' ' + (ok ? 'ok' : 'denied') + ' ' + b.subarray(i, i + 2048).toString('hex'));
};
const read = (name, file) => { try { out(name, true, fs.readFileSync(file)); } catch (e) { out(name, false, e.code); } };
const list = (name, dir) => { try { out(name, true, fs.readdirSync(dir).join(',')); } catch (e) { out(name, false, e.code); } };
const T = JSON.parse(process.env.TARGETS);
// find <data folder> -readable, and the same over the system folder
for (const [name, dir] of [['find-home', T.home], ['find-system', T.system]]) {
  const r = cp.spawnSync('find', [dir, '-readable'], { encoding: 'utf8' });
  out(name, r.status === 0 && r.stdout.trim() !== '', r.stdout + r.stderr);
}
for (const f of T.files) read('file:' + f, f);
for (const d of T.dirs) list('dir:' + d, d);
try { for (const f of fs.readdirSync(T.home + '/logs')) read('log:' + f, T.home + '/logs/' + f); } catch (e) { out('logs', false, e.code); }
// every process this workload can see, and the pids of the other workload and the services
const seen = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number);
out('proc-visible', true, seen.join(','));
for (const pid of [...new Set([...seen, ...T.pids])]) {
  if (pid === process.pid) continue;
  read('environ:' + pid, '/proc/' + pid + '/environ');
  read('cmdline:' + pid, '/proc/' + pid + '/cmdline');
  try { const fd = fs.openSync('/proc/' + pid + '/mem', 'r'); const b = Buffer.alloc(64); fs.readSync(fd, b, 0, 64, 0x400000); out('mem:' + pid, true, b); } catch (e) { out('mem:' + pid, false, e.code); }
}
for (const pid of T.pids) {
  for (const sig of [0, 'SIGCONT']) { try { process.kill(pid, sig); out('kill-' + sig + ':' + pid, true, ''); } catch (e) { out('kill-' + sig + ':' + pid, false, e.code); } }
}
// controls: its own values and process are reachable
read('own-properties', process.env.LATCHKEY_SPARK_PROPERTIES_FILE);
read('own-environ', '/proc/self/environ');
try { process.kill(process.pid, 0); out('own-kill', true, ''); } catch (e) { out('own-kill', false, e.code); }
console.log('probes done');
setInterval(() => {}, 1000);
`;

interface Probe {
  name: string;
  ok: boolean;
  data: string;
}

function probes(logs: string): Probe[] {
  const byName = new Map<string, Probe>();
  for (const m of logs.matchAll(/probe (\S+) (ok|denied) ([0-9a-f]*)/g)) {
    const name = m[1] ?? '';
    const p = byName.get(name) ?? { name, ok: m[2] === 'ok', data: '' };
    p.data += Buffer.from(Buffer.from(m[3] ?? '', 'hex').map((x) => x ^ 0x5a)).toString('latin1');
    byName.set(name, p);
  }
  return [...byName.values()];
}

/** The host pids under `pid` (bubblewrap, its init, the workload). */
async function descendants(pid: number): Promise<number[]> {
  const kids = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => ''))
    .split(' ')
    .filter((s) => s !== '')
    .map(Number);
  return [pid, ...(await Promise.all(kids.map(descendants))).flat()];
}

async function hostileLeg(t: TestContext, as: RunAs | undefined): Promise<void> {
  const parent = await mkdtemp(join(tmpdir(), 'latchkey-sandbox-'));
  if (as) await chown(parent, as.uid, as.gid);
  const home = join(parent, 'home');
  const sys: RunningSystem = await startSystem({ home, ...(as ? { as, env: { HOME: parent } } : {}) });
  t.after(async () => {
    await sys.cleanup();
    await rm(parent, { recursive: true, force: true });
  });
  const ok = async (args: string[], input?: string) => {
    const r = await sys.cli(args, input);
    assert.equal(r.code, 0, `latchkey ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  const apply = async (domain: string, workload: object) => {
    const file = join(parent, `${domain}.json`);
    await writeFile(file, JSON.stringify(workload));
    if (as) await chown(file, as.uid, as.gid);
    await ok(['workload', 'apply', '-f', file, '--domain', domain]);
  };

  const canary = `canary-${randomBytes(12).toString('hex')}`;
  const own = `finance-own-${randomBytes(12).toString('hex')}`;
  await ok(['domain', 'create', 'analytics']);
  await ok(['domain', 'create', 'finance']);
  await ok(['secret', 'put', 'warehouse_password', '--domain', 'analytics'], canary);
  await ok(['secret', 'put', 'ledger_password', '--domain', 'finance'], own);
  const ref = (key: string, domain: string) => ({ key, source: { type: 'MANAGED', id: domain } });
  await apply('analytics', {
    name: 'holder',
    kind: 'SPARK_JOB',
    template: {
      envVars: { WAREHOUSE_PASSWORD: ref('warehouse_password', 'analytics') },
      sparkConf: { 'spark.warehouse.password': ref('warehouse_password', 'analytics') },
    },
    run: { command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] },
  });
  const holder = JSON.parse((await ok(['deploy', 'holder', '--domain', 'analytics', '--wait', '--json'])).stdout) as {
    id: string;
    status: string;
    pid: number;
  };
  assert.equal(holder.status, 'deployed');

  const system = as ? home : systemFolderFor(home, DEFAULT_SYSTEM_DIR);
  const holderDir = join(system, 'work', holder.id);
  const targets = {
    home,
    system,
    files: [
      'kek.json',
      'tls/ca.key',
      'tls/deployer.key',
      'oidc-signing-key.json',
      'deployer-seal.key',
      'postgres-password',
      'credentials.json',
      'identity.json',
    ].map((f) => join(home, f)),
    dirs: [home, join(home, 'logs'), join(system, 'work'), holderDir, join(system, 'postgres')],
    pids: [...new Set([...(await descendants(holder.pid)), ...(await systemPids(home))])],
  };
  targets.files.push(join(holderDir, 'spark.properties'));
  assert.ok(targets.pids.length >= 6, `the holder's and the services' pids: ${targets.pids.join(',')}`);
  await apply('finance', {
    name: 'hostile',
    kind: 'SPARK_JOB',
    template: {
      envVars: { TARGETS: JSON.stringify(targets), LEDGER: ref('ledger_password', 'finance') },
      sparkConf: { 'spark.ledger.password': ref('ledger_password', 'finance') },
    },
    run: { command: [process.execPath, '-e', HOSTILE] },
  });
  const hostile = JSON.parse((await ok(['deploy', 'hostile', '--domain', 'finance', '--wait', '--json'])).stdout) as {
    status: string;
  };
  assert.equal(hostile.status, 'deployed');
  const logs = await waitForLogs(ok, 'hostile', 'finance', 'probes done', {
    what: "the hostile workload's probes",
    timeoutMs: 60_000,
  });
  const found = probes(logs);
  const byName = (n: string) => found.find((p) => p.name === n);
  // The controls: the probes can see what is there to see.
  assert.equal(byName('own-properties')?.ok, true, 'it reads its own properties file');
  assert.ok(byName('own-environ')?.data.includes(`LEDGER=${own}`), 'it reads its own environment');
  assert.ok(byName('own-properties')?.data.includes(own), 'and finds its own value in it');
  assert.equal(byName('own-kill')?.ok, true, 'it signals itself');

  const keyFiles = await Promise.all(
    ['kek.json', 'tls/ca.key', 'oidc-signing-key.json', 'deployer-seal.key', 'postgres-password'].map((f) =>
      readFile(join(home, f), 'utf8'),
    ),
  );
  const secrets = [canary, ...keyFiles.map((k) => k.trim())];
  const reached = found.filter(
    (p) => !p.name.startsWith('own-') && p.name !== 'proc-visible' && (p.ok || secrets.some((s) => p.data.includes(s))),
  );
  // Its own pid namespace: it sees its own processes only (bubblewrap's init, itself, find's leftovers).
  const visible = (byName('proc-visible')?.data ?? '').split(',').map(Number);
  assert.ok(
    visible.every((pid) => !targets.pids.includes(pid) || pid < 10),
    `sees only its own processes, got ${visible.join(',')}`,
  );
  assert.deepEqual(
    reached.filter((p) => !/^(environ|cmdline|mem):\d$/.test(p.name)),
    [],
    `the hostile workload reached: ${reached.map((p) => `${p.name} (${p.data.slice(0, 200)})`).join('; ')}`,
  );
  // What it can read of its own namespace's processes holds none of the other domain's values.
  for (const p of found) {
    for (const s of secrets) assert.ok(!p.data.includes(s), `${p.name} holds a secret`);
  }
}

test(
  'a hostile finance workload beside a running analytics one reaches no value, key, log or process, as root',
  { skip: isRoot ? false : 'the root leg runs as root' },
  async (t) => {
    await hostileLeg(t, undefined);
  },
);

test(
  'a hostile finance workload beside a running analytics one reaches no value, key, log or process, as a non-root user',
  { skip: isRoot ? false : 'run as root: it starts the system as uid 65534' },
  async (t) => {
    // The clone may sit in a private folder (a 0700 /root): that user then runs a copy it can reach.
    const repo = await reachableRepo();
    t.after(() => repo.cleanup());
    await hostileLeg(t, { uid: 65534, gid: 65534, repo: repo.path });
  },
);
