import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { isPidAlive } from './child-registry.js';
import { findFreePort } from './free-port.js';
import { startPostgres } from './postgres-process.js';
import { refusesTakenPort, rejectsWithInfraError, tempDir } from './test/process-fixture.js';

async function tempParent(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const parent = await tempDir('latchkey-pg-test-');
  // As root, PostgreSQL runs as OS user 'postgres', which must be able to enter this dir.
  await fs.chmod(parent.dir, 0o755);
  return parent;
}

async function query<T extends pg.QueryResultRow>(connectionString: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

test('postgres starts, creates the requested databases, and a second start on the same data dir finds earlier data', async () => {
  const parent = await tempParent();
  const dataDir = path.join(parent.dir, 'data');
  const password = 'pw-' + Math.random().toString(36).slice(2);
  try {
    const first = await startPostgres({
      dataDir,
      port: await findFreePort(),
      password,
      databases: ['catalog', 'ras'],
      durable: false,
    });
    try {
      assert.equal(first.host, '127.0.0.1');
      assert.equal(first.user, 'latchkey');
      const rows = await query<{ answer: number }>(first.connectionString('catalog'), 'SELECT 41 + 1 AS answer');
      assert.equal(rows[0]?.answer, 42);
      await query(
        first.connectionString('ras'),
        'CREATE TABLE keep_me (id int PRIMARY KEY); INSERT INTO keep_me VALUES (7)',
      );
      await first.createDatabase('extra');
      await first.createDatabase('extra'); // idempotent
    } finally {
      await first.stop();
    }
    assert.equal(isPidAlive(first.pid), false);

    const second = await startPostgres({
      dataDir,
      port: await findFreePort(),
      password,
      databases: ['catalog', 'ras', 'more'],
    });
    try {
      const rows = await query<{ id: number }>(second.connectionString('ras'), 'SELECT id FROM keep_me');
      assert.deepEqual(rows, [{ id: 7 }]);
      const dbs = await query<{ datname: string }>(
        second.connectionString('postgres'),
        "SELECT datname FROM pg_database WHERE datname IN ('catalog','ras','extra','more') ORDER BY datname",
      );
      assert.deepEqual(
        dbs.map((r) => r.datname),
        ['catalog', 'extra', 'more', 'ras'],
      );
    } finally {
      await second.stop();
    }
  } finally {
    await parent.cleanup();
  }
});

test('postgres with a data dir that is a file fails with infra.data_dir_unreadable naming the path', async () => {
  const parent = await tempParent();
  try {
    const file = path.join(parent.dir, 'pgdata-file');
    await fs.writeFile(file, 'not a directory');
    await rejectsWithInfraError(
      startPostgres({ dataDir: file, port: await findFreePort(), password: 'x', databases: [] }),
      'infra.data_dir_unreadable',
      (err) => {
        assert.ok(err.message.includes(file), err.message);
        assert.match(err.message, /not a directory/);
      },
    );
  } finally {
    await parent.cleanup();
  }
});

test(
  'postgres with a data dir the current user cannot read fails with infra.data_dir_unreadable',
  { skip: process.getuid?.() === 0 ? 'root can read everything' : false },
  async () => {
    const parent = await tempParent();
    const dataDir = path.join(parent.dir, 'locked');
    await fs.mkdir(dataDir, { mode: 0o000 });
    try {
      await rejectsWithInfraError(
        startPostgres({ dataDir, port: await findFreePort(), password: 'x', databases: [] }),
        'infra.data_dir_unreadable',
        (err) => assert.ok(err.message.includes(dataDir), err.message),
      );
    } finally {
      await fs.chmod(dataDir, 0o700);
      await parent.cleanup();
    }
  },
);

test('postgres on a port in use fails with infra.port_in_use', async () => {
  const parent = await tempParent();
  try {
    await refusesTakenPort(
      (port) => startPostgres({ dataDir: path.join(parent.dir, 'data'), port, password: 'x', databases: [] }),
      (err) => assert.ok(err.message.includes('(PostgreSQL)'), err.message),
    );
  } finally {
    await parent.cleanup();
  }
});

test(
  'as root, a data dir inside a directory the postgres OS user cannot enter fails with infra.data_dir_unreadable and a chmod hint',
  { skip: process.getuid?.() === 0 ? false : 'only root runs PostgreSQL as another OS user' },
  async () => {
    const parent = await tempParent();
    const privateDir = path.join(parent.dir, 'private');
    await fs.mkdir(privateDir, { mode: 0o700 });
    try {
      const dataDir = path.join(privateDir, 'data');
      await rejectsWithInfraError(
        startPostgres({ dataDir, port: await findFreePort(), password: 'x', databases: [] }),
        'infra.data_dir_unreadable',
        (err) => assert.ok(err.message.includes(`chmod o+x ${privateDir}`), err.message),
      );
    } finally {
      await parent.cleanup();
    }
  },
);
