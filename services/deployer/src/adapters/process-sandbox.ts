import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, chown, lstat, mkdir, readlink, rm } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { firstUntraversableAncestor, runningAsRoot, type OsUserIds } from '@latchkey/embedded';
import { LatchkeyError } from '@latchkey/errors';

/** The OS identity (uid = gid) each domain's workloads run as when the deployer is root. */
export interface SandboxIdentities {
  identityFor(domain: string): Promise<OsUserIds>;
}

/**
 * How the process runtime isolates a workload, decided once when the
 * deployer starts:
 * - `sandbox`: bubblewrap, as the domain's uid when the deployer is root;
 * - `none`: a plain child process (LATCHKEY_PROCESS_ISOLATION=none), with a
 *   warning every deployment carries;
 * - `unavailable`: isolation was asked for and cannot be had here; every
 *   start is refused with `reason`, which says what to install or configure.
 */
export type Isolation =
  | { kind: 'sandbox'; bwrap: string; asRoot: boolean; readOnly: ReadOnlyMount[]; disableUserns: boolean }
  | { kind: 'none'; warning: string }
  | { kind: 'unavailable'; reason: string };

/** A host path the sandbox shows read-only: a folder bound, or a symlink recreated (/bin -> usr/bin). */
export type ReadOnlyMount = { path: string; bind: true } | { path: string; symlinkTo: string };

export const UNSANDBOXED_WARNING =
  "this workload runs WITHOUT isolation (LATCHKEY_PROCESS_ISOLATION=none): as the deployer's own OS user, able to read the platform's files and other workloads' environments; for trusted workloads only";

/** Where a sandboxed workload finds its work folder (its HOME and current folder). */
export const SANDBOX_WORK_DIR = '/work';

/** System folders every workload sees read-only (when they exist): programs, libraries, configuration. */
const SYSTEM_DIRS = ['/usr', '/etc', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

async function systemMounts(): Promise<ReadOnlyMount[]> {
  const mounts: ReadOnlyMount[] = [];
  for (const path of SYSTEM_DIRS) {
    try {
      const st = await lstat(path);
      if (st.isSymbolicLink()) mounts.push({ path, symlinkTo: await readlink(path) });
      else if (st.isDirectory()) mounts.push({ path, bind: true });
    } catch {
      // not on this system
    }
  }
  return mounts;
}

const isUnder = (path: string, dir: string): boolean =>
  path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/** The bubblewrap arguments (before `--`) of a workload whose work folder is `workDir`. */
export function sandboxArgs(iso: Extract<Isolation, { kind: 'sandbox' }>, workDir: string): string[] {
  const args = [
    // A user namespace: no privilege over anything outside (and bwrap needs no setuid bit).
    '--unshare-user',
    ...(iso.disableUserns ? ['--disable-userns'] : []),
    // Its own pid namespace (it sees and can signal only its own processes), ipc and hostname.
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    // Killed with the deployer; no controlling terminal to inject input into.
    '--die-with-parent',
    '--new-session',
  ];
  for (const m of iso.readOnly) {
    if ('bind' in m) args.push('--ro-bind', m.path, m.path);
    else args.push('--symlink', m.symlinkTo, m.path);
  }
  args.push(
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    // The only writable folder, at a fixed path (the host's path would show where the data folder is).
    '--bind',
    workDir,
    SANDBOX_WORK_DIR,
    '--chdir',
    SANDBOX_WORK_DIR,
    // The host pid of the sandbox's init, whose child is the workload (signalled on stop).
    '--info-fd',
    '3',
  );
  return args;
}

/** Whether `file` (absolute, as the host sees it) is inside what the sandbox shows. */
export function visibleInSandbox(iso: Extract<Isolation, { kind: 'sandbox' }>, file: string): boolean {
  const roots = iso.readOnly.filter((m) => 'bind' in m).map((m) => m.path);
  const real = (p: string) => {
    for (const m of iso.readOnly)
      if ('symlinkTo' in m && isUnder(p, m.path)) return join('/', m.symlinkTo, p.slice(m.path.length));
    return p;
  };
  return roots.some((r) => isUnder(real(file), r));
}

/** `program` found as a workload would find it (a path as is, else on PATH), or undefined. */
export async function findProgram(program: string, path: string | undefined): Promise<string | undefined> {
  const executable = async (f: string) => {
    try {
      await access(f, fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (program.includes('/')) return (await executable(program)) ? program : undefined;
  for (const dir of (path ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, program);
    if (await executable(candidate)) return candidate;
  }
  return undefined;
}

function runProbe(
  bwrap: string,
  args: string[],
  ids: OsUserIds | undefined,
  timeoutMs: number,
): Promise<{ ok: boolean; output: string }> {
  return new Promise((done) => {
    const child = spawn(bwrap, [...args, '--', 'true'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/bin:/bin' },
      ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
    });
    let output = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      done({ ok: false, output: err.message });
    });
    // 'exit', not 'close': a sandbox left half-made could hold the pipes open.
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // Its last words are in the pipe already; let them arrive.
      setImmediate(() =>
        done({ ok: code === 0, output: output.trim() || (signal ? `killed by ${signal}` : `exit code ${code}`) }),
      );
    });
  });
}

const NONE_HINT =
  "or set LATCHKEY_PROCESS_ISOLATION=none to run workloads unsandboxed as the deployer's own user (never with untrusted workloads)";

/**
 * Decides how workloads are isolated here, running `bwrap ... true` once as
 * a workload would be run (as `probeIds` when the deployer is root).
 * `bwrap`: its path, or undefined when it is not installed.
 */
export async function prepareIsolation(opts: {
  mode: 'sandbox' | 'none';
  bwrap: string | undefined;
  workDir: string;
  /** As root: an identity of the configured range, to try the sandbox with. */
  probeIds: OsUserIds;
  probeTimeoutMs?: number;
}): Promise<Isolation> {
  if (opts.mode === 'none') return { kind: 'none', warning: UNSANDBOXED_WARNING };
  const asRoot = runningAsRoot();
  if (opts.bwrap === undefined) {
    return {
      kind: 'unavailable',
      reason: `workloads cannot be sandboxed: bubblewrap is not installed: install it (Debian/Ubuntu: sudo apt-get install bubblewrap; it is installed by itself when the deployer runs as root on Debian), ${NONE_HINT}`,
    };
  }
  const readOnly = await systemMounts();
  // The node binary, when it lives outside the system folders (nvm, a tarball).
  const nodeDir = dirname(process.execPath);
  const ids = asRoot ? opts.probeIds : undefined;
  if (!readOnly.some((m) => 'bind' in m && isUnder(nodeDir, m.path))) {
    if (!ids || (await firstUntraversableAncestor(join(nodeDir, 'node'), ids)) === undefined)
      readOnly.push({ path: nodeDir, bind: true });
  }
  const workDir = resolve(opts.workDir);
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  // As root, passed through (not listed) by every domain's uid to reach its own folder, which is 0700.
  if (asRoot) await chmod(workDir, 0o711);
  if (ids) {
    const blocked = await firstUntraversableAncestor(join(workDir, 'x'), ids);
    if (blocked !== undefined) {
      return {
        kind: 'unavailable',
        reason: `workloads cannot be sandboxed: the sandbox identities (uid ${ids.uid}...) cannot reach LATCHKEY_WORK_DIR ${workDir} because ${blocked} is not searchable by them: choose a work folder outside private folders (latchkey up uses /var/lib/latchkey/...), or chmod o+x ${blocked}`,
      };
    }
  }
  const probeDir = join(workDir, `.probe-${randomUUID()}`);
  await mkdir(probeDir, { mode: 0o700 });
  try {
    if (ids) await chown(probeDir, ids.uid, ids.gid);
    const base = { kind: 'sandbox' as const, bwrap: opts.bwrap, asRoot, readOnly };
    const timeout = opts.probeTimeoutMs ?? 15_000;
    let probe = await runProbe(opts.bwrap, sandboxArgs({ ...base, disableUserns: true }, probeDir), ids, timeout);
    if (probe.ok) return { ...base, disableUserns: true };
    // bubblewrap before 0.8 has no --disable-userns: everything else still holds.
    if (/disable-userns/.test(probe.output)) {
      probe = await runProbe(opts.bwrap, sandboxArgs({ ...base, disableUserns: false }, probeDir), ids, timeout);
      if (probe.ok) return { ...base, disableUserns: false };
    }
    const line = probe.output.split('\n')[0] ?? '';
    return {
      kind: 'unavailable',
      reason:
        `workloads cannot be sandboxed: ${opts.bwrap} cannot create a sandbox here (${line})` +
        (/namespace|Operation not permitted|Permission denied/i.test(line)
          ? ': allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 23.10+ kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap; in a container, run it with user namespaces allowed), '
          : ': ') +
        NONE_HINT,
    };
  } finally {
    await rm(probeDir, { recursive: true, force: true });
  }
}

export function unavailableError(iso: Extract<Isolation, { kind: 'unavailable' }>): LatchkeyError {
  return new LatchkeyError('runtime.isolation_unavailable', iso.reason);
}
