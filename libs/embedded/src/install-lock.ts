import fs from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { isPidAlive } from './child-registry.js';

const STALE_AFTER_MS = 15 * 60 * 1000;

async function lockIsStale(lockPath: string): Promise<boolean> {
  try {
    const [content, stat] = await Promise.all([fs.readFile(lockPath, 'utf8'), fs.stat(lockPath)]);
    const pid = Number.parseInt(content.trim(), 10);
    if (Number.isInteger(pid) && pid > 0 && !isPidAlive(pid)) return true;
    return Date.now() - stat.mtimeMs > STALE_AFTER_MS;
  } catch (err) {
    // Vanished between our create attempt and the read: treat as free.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/**
 * Cross-process mutex based on an exclusively created file holding the owner's
 * pid. A lock whose owner is dead (or older than 15 min) is taken over.
 * Returns a release function.
 */
export async function acquireFileLock(
  lockPath: string,
  opts: { timeoutMs: number; onWait?: () => void },
): Promise<() => Promise<void>> {
  const deadline = Date.now() + opts.timeoutMs;
  let announced = false;
  for (;;) {
    try {
      const handle = await fs.open(lockPath, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return async () => {
        await fs.rm(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await lockIsStale(lockPath)) {
      await fs.rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${opts.timeoutMs}ms waiting for lock ${lockPath}`);
    }
    if (!announced) {
      opts.onWait?.();
      announced = true;
    }
    // Polling another process's lock: there is nothing to subscribe to.
    await delay(250);
  }
}
