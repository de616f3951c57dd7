import { readFile } from 'node:fs/promises';

/**
 * A service replica that has reported ready sends `{type:'alive'}` over IPC
 * every few seconds (HEARTBEAT_MS in @latchkey/grpc's lifecycle). One that
 * has sent none for this long has a blocked event loop: it serves nothing,
 * and cannot even drain on SIGTERM. `latchkey up` kills it so that its
 * supervisor starts it again; its unacknowledged events are delivered again.
 */
export const LIVENESS_TIMEOUT_MS = 60_000;

/** What /proc says of a process's main thread (Linux only). */
export interface MainThreadSample {
  /** `R` running, `S` sleeping, `D` uninterruptible wait, ... */
  state: string;
  /** User plus system CPU time, in clock ticks. */
  cpuTicks: number;
  /** The kernel function it waits in, when it waits ('0' or '' when running). */
  wchan: string;
  /** The system call it is blocked in (`running` when in user space). */
  syscall: string;
  /** When sampled (Date.now()). */
  at: number;
}

/** Clock ticks per second: USER_HZ is 100 on every Linux that Node runs on. */
const TICKS_PER_SECOND = 100;

/** The waits a blocked loop is found in, by their x86-64 numbers; other architectures number them otherwise. */
const X64_SYSCALL_NAMES: Record<string, string> = {
  '0': 'read',
  '1': 'write',
  '7': 'poll',
  '23': 'select',
  '35': 'nanosleep',
  '202': 'futex',
  '232': 'epoll_wait',
  '281': 'epoll_pwait',
};

/** Samples the main thread of `pid`, or undefined when /proc cannot tell (not Linux, process gone). */
export async function sampleMainThread(pid: number): Promise<MainThreadSample | undefined> {
  const dir = `/proc/${pid}/task/${pid}`;
  try {
    const stat = await readFile(`${dir}/stat`, 'utf8');
    // `pid (comm) state ...`: comm may hold spaces and parentheses, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0] ?? '?';
    const cpuTicks = Number(fields[11]) + Number(fields[12]);
    const wchan = (await readFile(`${dir}/wchan`, 'utf8').catch(() => '')).trim();
    const raw = (await readFile(`${dir}/syscall`, 'utf8').catch(() => '')).trim();
    const nr = raw.split(' ')[0] ?? '';
    const named = process.arch === 'x64' ? X64_SYSCALL_NAMES[nr] : undefined;
    const syscall = nr === '' || nr === 'running' ? nr : (named ?? `syscall ${nr}`);
    return { state, cpuTicks: Number.isFinite(cpuTicks) ? cpuTicks : 0, wchan, syscall, at: Date.now() };
  } catch {
    return undefined;
  }
}

/**
 * One phrase saying what a blocked main thread does, from two samples:
 * busy (its CPU time grew: JavaScript or native code that does not return)
 * or waiting (and in what).
 */
export function describeMainThread(before: MainThreadSample | undefined, after: MainThreadSample | undefined): string {
  if (!after) return 'its main thread could not be sampled';
  if (after.state === 'T' || after.state === 't') return 'its process is stopped (SIGSTOP, or a debugger holds it)';
  const busy =
    before === undefined || after.at <= before.at
      ? undefined
      : (after.cpuTicks - before.cpuTicks) / TICKS_PER_SECOND / ((after.at - before.at) / 1000);
  const share = busy === undefined ? '' : `, ${Math.round(Math.min(1, Math.max(0, busy)) * 100)}% of a core`;
  if (after.state === 'R' || (busy !== undefined && busy > 0.5)) {
    return `its main thread is running without pause${share}: code that does not return`;
  }
  const inWhat = [
    after.syscall && after.syscall !== 'running' ? after.syscall : '',
    after.wchan && after.wchan !== '0' ? after.wchan : '',
  ]
    .filter((s) => s !== '')
    .join(' in ');
  return `its main thread is waiting (state ${after.state}${inWhat === '' ? '' : `, ${inWhat}`}${share})`;
}
