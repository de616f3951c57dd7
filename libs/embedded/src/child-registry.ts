import type { ChildProcess } from 'node:child_process';
/**
 * Children we started that must not outlive this process. On process 'exit'
 * (which only runs synchronous code) each one is sent its shutdown signal.
 */
const children = new Map<number, NodeJS.Signals>();
let hooked = false;

function killAll(): void {
  for (const [pid, signal] of children) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
  children.clear();
}

export function registerChild(pid: number, signal: NodeJS.Signals): void {
  if (!hooked) {
    process.on('exit', killAll);
    hooked = true;
  }
  children.set(pid, signal);
}

export function unregisterChild(pid: number): void {
  children.delete(pid);
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stops a child: SIGTERM, then SIGKILL when it is still running after
 * `graceMs`; resolves once `exited` (its exit) does, at once when it had
 * already exited.
 */
export async function terminateChild(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    await exited;
    return;
  }
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
