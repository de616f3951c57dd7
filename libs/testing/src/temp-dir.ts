import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface TempDir {
  readonly path: string;
  /** Removes the directory and everything in it. Safe to call more than once. */
  cleanup(): Promise<void>;
}

/** Creates a fresh directory under os.tmpdir() named `<prefix>XXXXXX`. */
export async function tempDir(prefix: string): Promise<TempDir> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return { path: dir, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

/**
 * Starts something that keeps its files in a fresh temporary directory: the
 * directory is removed when the start fails, and by `stop()` after what
 * `start` returned has stopped (even when stopping fails).
 */
export async function startInTempDir<T extends { stop(): Promise<void> }>(
  prefix: string,
  start: (dir: TempDir) => Promise<T>,
): Promise<T> {
  const dir = await tempDir(prefix);
  try {
    const started = await start(dir);
    return {
      ...started,
      stop: async () => {
        try {
          await started.stop();
        } finally {
          await dir.cleanup();
        }
      },
    };
  } catch (err) {
    await dir.cleanup();
    throw err;
  }
}
