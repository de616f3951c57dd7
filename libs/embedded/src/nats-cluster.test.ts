import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { connect, StringCodec } from 'nats';
import { findFreePort } from './free-port.js';
import {
  JETSTREAM_LEADER_LINE,
  natsClusterUrls,
  planNatsCluster,
  writeNatsNodeConfig,
  type NatsClusterPlan,
} from './nats-cluster.js';
import { ensureNatsServerBinary } from './system-binaries.js';
import { startNatsServer, type NatsServerHandle } from './nats-server-process.js';
import { tempDir } from './test/process-fixture.js';

const ports = async (n: number): Promise<number[]> => {
  const out: number[] = [];
  while (out.length < n) {
    const p = await findFreePort();
    if (!out.includes(p)) out.push(p);
  }
  return out;
};

test('three nodes of a planned cluster form one JetStream cluster: an R3 stream keeps taking messages with one node killed, and the node rejoins', async (t) => {
  const binary = await ensureNatsServerBinary();
  const dir = await tempDir('latchkey-nats-cluster-');
  t.after(() => dir.cleanup());
  const plan: NatsClusterPlan = planNatsCluster({ clientPorts: await ports(3), clusterPorts: await ports(3) });
  assert.deepEqual(
    plan.nodes.map((n) => n.name),
    ['latchkey-1', 'latchkey-2', 'latchkey-3'],
  );
  let leaderSeen = false;
  const nodes: NatsServerHandle[] = [];
  const start = async (i: number): Promise<NatsServerHandle> => {
    const node = plan.nodes[i]!;
    const file = path.join(dir.dir, `${node.name}.conf`);
    await writeNatsNodeConfig(file, '# no auth in this test', plan, node);
    return startNatsServer({
      port: node.clientPort,
      storeDir: path.join(dir.dir, node.name),
      binary,
      serverName: node.name,
      configFile: file,
      log: (line) => {
        if (JETSTREAM_LEADER_LINE.test(line)) leaderSeen = true;
        // The route password never reaches the log.
        assert.ok(!line.includes(plan.routePassword), 'the route password is not logged');
      },
    });
  };
  for (const i of [0, 1, 2]) nodes.push(await start(i));
  t.after(() => Promise.all(nodes.map((n) => n.stop())));
  const deadline = Date.now() + 30_000;
  while (!leaderSeen && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(leaderSeen, 'a JetStream meta leader was elected');

  const nc = await connect({
    servers: natsClusterUrls(plan).split(','),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 200,
  });
  t.after(() => nc.close());
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
  const info = await jsm.streams.info('R3');
  assert.equal(info.config.num_replicas, 3);
  assert.equal(info.cluster?.name, 'latchkey');
  const js = nc.jetstream();
  const sc = StringCodec();
  await js.publish('r3.a', sc.encode('1'));

  // Kill one node (not the one the client is on, or it moves: both are fine for R3 with a quorum of two).
  process.kill(nodes[1]!.pid, 'SIGKILL');
  await nodes[1]!.exited;
  let stored = 0;
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      await js.publish('r3.b', sc.encode('2'), { timeout: 2000 });
      stored = (await jsm.streams.info('R3')).state.messages;
      break;
    } catch (err) {
      if (Date.now() > until) throw err;
    }
  }
  assert.equal(stored, 2, 'the stream takes messages with two of three nodes');

  nodes[1] = await start(1);
  const back = Date.now() + 30_000;
  for (;;) {
    const replicas = (await jsm.streams.info('R3')).cluster?.replicas ?? [];
    if (replicas.length === 2 && replicas.every((r) => r.current)) break;
    if (Date.now() > back) assert.fail(`the restarted node did not catch up: ${JSON.stringify(replicas)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});
