import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { writeConnectionFile } from '../local-state/connection-file.js';
import { assertNotRunning, assertPortsFree, readyLine, repoRoot, serviceEntry } from './up-command.js';
import { readUpConfig } from './up-config.js';

test('the repo root is found from the CLI file location', () => {
  const root = repoRoot();
  assert.ok(existsSync(path.join(root, 'cli', 'package.json')));
  assert.equal(serviceEntry(root, 'ras'), path.join(root, 'services', 'ras', 'dist', 'src', 'main.js'));
});

test('the ready line starts with "Latchkey is ready" and names every gRPC address', () => {
  const line = readyLine({ catalog: 'h:2', ras: 'h:1', resolver: 'h:3', deployer: 'h:4' }, '/d', 1);
  assert.equal(line, 'Latchkey is ready — gRPC: catalog h:2, ras h:1, deployer h:4, resolver h:3 (data: /d)');
});

test('a second launcher on a live data folder is refused; a stale connection.json is not', async () => {
  const home = await mkdtemp(path.join(tmpdir(), 'latchkey-up-'));
  await assertNotRunning(home);
  const info = {
    catalog: 'a:1',
    ras: 'a:1',
    resolver: 'a:1',
    deployer: 'a:1',
    credentialsFile: '/x',
    natsUrl: '',
    caFile: '',
    insecure: true,
  };
  await writeConnectionFile(home, { ...info, pid: process.ppid });
  await assert.rejects(assertNotRunning(home), /Latchkey is already running on this data folder \(pid \d+/);
  await writeConnectionFile(home, { ...info, pid: 2 ** 22 + 1 });
  await assertNotRunning(home);
});

test('a taken service port is reported with its variable before anything starts', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const config = readUpConfig(
      {
        LATCHKEY_NATS_PORT: '0',
        LATCHKEY_PG_PORT: '0',
        LATCHKEY_RAS_PORT: '0',
        LATCHKEY_CATALOG_PORT: String(port),
        LATCHKEY_RESOLVER_PORT: '0',
        LATCHKEY_DEPLOYER_PORT: '0',
      },
      '/w',
    );
    await assert.rejects(
      assertPortsFree(config),
      (e: unknown) =>
        (e as Error).message ===
        `port ${port} (catalog) is already in use on 127.0.0.1: stop what uses it or set LATCHKEY_CATALOG_PORT`,
    );
    const http = readUpConfig(
      {
        LATCHKEY_NATS_PORT: '0',
        LATCHKEY_PG_PORT: '0',
        LATCHKEY_RAS_PORT: '0',
        LATCHKEY_CATALOG_PORT: '0',
        LATCHKEY_RESOLVER_PORT: '0',
        LATCHKEY_DEPLOYER_PORT: '0',
        LATCHKEY_GATEWAY_PORT: '0',
        LATCHKEY_HTTP_PORT: String(port),
      },
      '/w',
    );
    await assert.rejects(
      assertPortsFree(http),
      (e: unknown) =>
        (e as Error).message ===
        `port ${port} (gateway HTTP) is already in use on 127.0.0.1: stop what uses it or set LATCHKEY_HTTP_PORT`,
    );
    const pg = readUpConfig({ LATCHKEY_NATS_PORT: '0', LATCHKEY_PG_PORT: String(port) }, '/w');
    await assert.rejects(assertPortsFree(pg), /PostgreSQL.*LATCHKEY_PG_PORT/);
  } finally {
    server.close();
  }
  const clash = readUpConfig(
    {
      LATCHKEY_NATS_PORT: '0',
      LATCHKEY_PG_PORT: '0',
      LATCHKEY_RAS_PORT: '0',
      LATCHKEY_CATALOG_PORT: '0',
      LATCHKEY_RESOLVER_PORT: '0',
      LATCHKEY_DEPLOYER_PORT: String(port),
      LATCHKEY_REPLICAS: '1',
    },
    '/w',
  );
  clash.servicePorts.resolver = port;
  await assert.rejects(assertPortsFree(clash), /deployer and resolver are both configured for port/);
});

test('latchkey up --help documents the NATS cluster, its replica count and the restarts', async () => {
  const { commandHelp } = await import('../commands/command-table.js');
  const { upCommand } = await import('./up-command-spec.js');
  const help = commandHelp(upCommand).join('\n');
  assert.match(help, /LATCHKEY_NATS_NODES=3 \(1 to 5\) starts that many nats-server\s+nodes as one JetStream cluster/);
  assert.match(help, /LATCHKEY_NATS_REPLICAS: servers that keep/);
  assert.match(help, /dies unexpectedly is restarted/);
});
