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
