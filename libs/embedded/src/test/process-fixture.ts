import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '../free-port.js';
import { InfraError } from '../infra-errors.js';

// Shared by the nats-server and PostgreSQL process tests.

/** A fresh folder of the temporary directory, removed by `cleanup`. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** Runs `fn` in a fresh folder of the temporary directory, removed afterwards. */
export async function inTempDir(prefix: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir(prefix);
  try {
    await fn(dir);
  } finally {
    await cleanup();
  }
}

/** Asserts that `start` fails with an InfraError of `code`; `check` looks at it further. */
export async function rejectsWithInfraError(
  start: Promise<unknown>,
  code: string,
  check: (err: InfraError) => void = () => undefined,
): Promise<void> {
  await assert.rejects(start, (err: unknown) => {
    assert.ok(err instanceof InfraError, String(err));
    assert.equal(err.code, code);
    check(err);
    return true;
  });
}

/** Runs `fn` while another listener holds `port` of 127.0.0.1; releases it afterwards. */
export async function withPortTaken(port: number, fn: () => Promise<void>): Promise<void> {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  try {
    await fn();
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
}

/** Asserts that `start`, on a free port another listener then holds, fails with infra.port_in_use; `check` looks further. */
export async function refusesTakenPort(
  start: (port: number) => Promise<unknown>,
  check: (err: InfraError, port: number) => void,
): Promise<void> {
  const port = await findFreePort();
  await withPortTaken(port, () => rejectsWithInfraError(start(port), 'infra.port_in_use', (err) => check(err, port)));
}
