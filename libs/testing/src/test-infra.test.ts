import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { test } from 'node:test';
import { connect, StringCodec } from 'nats';
import pg from 'pg';
import { startTestNats } from './test-nats.js';
import { createTestDatabase, startTestPostgres } from './test-postgres.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

test('startTestNats gives a working JetStream server whose store is removed on stop', async () => {
  const nats = await startTestNats();
  let stopped = false;
  try {
    const nc = await connect({ servers: nats.url });
    try {
      const sc = StringCodec();
      const sub = nc.subscribe('ping');
      const received: string[] = [];
      void (async () => {
        for await (const m of sub) received.push(sc.decode(m.data));
      })();
      nc.publish('ping', sc.encode('pong'));
      await waitFor(() => received.length > 0, { what: 'the ping message' });
      assert.deepEqual(received, ['pong']);
      const info = await (await nc.jetstreamManager()).getAccountInfo();
      assert.equal(info.streams, 0);
    } finally {
      await nc.close();
    }
    await nats.stop();
    stopped = true;
    await assert.rejects(connect({ servers: nats.url, reconnect: false, timeout: 1000 }));
  } finally {
    if (!stopped) await nats.stop();
  }
});

test('startTestPostgres creates databases, createTestDatabase adds one to the running instance, stop removes the data', async () => {
  const db = await startTestPostgres(['first']);
  const dataDir = db.dataDir;
  try {
    const url = await createTestDatabase(db, 'second');
    assert.equal(url, db.connectionString('second'));
    for (const name of ['first', 'second']) {
      const client = new pg.Client({ connectionString: db.connectionString(name) });
      await client.connect();
      try {
        const res = await client.query<{ current_database: string }>('SELECT current_database()');
        assert.equal(res.rows[0]?.current_database, name);
      } finally {
        await client.end();
      }
    }
  } finally {
    await db.stop();
  }
  await assert.rejects(fs.stat(dataDir), { code: 'ENOENT' });
});

test('tempDir creates a directory that cleanup removes', async () => {
  const dir = await tempDir('latchkey-tempdir-test-');
  assert.ok((await fs.stat(dir.path)).isDirectory());
  await dir.cleanup();
  await assert.rejects(fs.stat(dir.path), { code: 'ENOENT' });
  await dir.cleanup();
});
