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
