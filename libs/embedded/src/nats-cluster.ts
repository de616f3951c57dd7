import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { InfraError } from './infra-errors.js';

/** One server of an embedded NATS cluster: its unique JetStream name, its client port and its route port. */
export interface NatsClusterNode {
  /** server_name, unique in the cluster (JetStream clustering needs one per server). */
  name: string;
  clientPort: number;
  clusterPort: number;
}

/**
 * A NATS cluster on one host: every node routes to every other (a full
 * mesh), and a route must present the cluster's route user and password,
 * so that no other process on the machine can join the cluster as a route
 * (a route sees every message of every account).
 */
export interface NatsClusterPlan {
  /** The cluster's name (cluster.name): JetStream clustering needs it. */
  name: string;
  host: string;
  nodes: NatsClusterNode[];
  routeUser: string;
  /** Random, per start; only in the nodes' configuration files (0600), never on a command line. */
  routePassword: string;
}

/** Most servers an embedded cluster may have: a NATS cluster this size is for tests and local HA, not more. */
export const MAX_NATS_NODES = 5;

/** A cluster plan for `clientPorts.length` nodes named `<prefix>-1`, `<prefix>-2` ... with a fresh route password. */
export function planNatsCluster(opts: {
  name?: string;
  host?: string;
  clientPorts: number[];
  clusterPorts: number[];
}): NatsClusterPlan {
  const { clientPorts, clusterPorts } = opts;
  if (clientPorts.length < 1 || clientPorts.length > MAX_NATS_NODES || clusterPorts.length !== clientPorts.length) {
    throw new InfraError(
      'infra.bad_cluster',
      `a NATS cluster here has 1 to ${MAX_NATS_NODES} servers, each with a client and a route port (got ${clientPorts.length} client and ${clusterPorts.length} route ports)`,
    );
  }
  const name = opts.name ?? 'latchkey';
  return {
    name,
    host: opts.host ?? '127.0.0.1',
    nodes: clientPorts.map((clientPort, i) => ({
      name: `${name}-${i + 1}`,
      clientPort,
      clusterPort: clusterPorts[i] ?? 0,
    })),
    routeUser: 'route',
    routePassword: randomBytes(24).toString('hex'),
  };
}

/** The client URLs of every node, comma-separated (LATCHKEY_NATS_URL for the services). */
export function natsClusterUrls(plan: NatsClusterPlan): string {
  const host = plan.host.includes(':') ? `[${plan.host}]` : plan.host;
  return plan.nodes.map((n) => `nats://${host}:${n.clientPort}`).join(',');
}

/**
 * The configuration lines that make `node` a member of the cluster: its
 * server name, its route listener (which asks for the route password) and a
 * route to every node (its own is ignored by nats-server).
 */
export function natsClusterConfig(plan: NatsClusterPlan, node: NatsClusterNode): string {
  const q = (s: string): string => JSON.stringify(s);
  const host = plan.host.includes(':') ? `[${plan.host}]` : plan.host;
  const routes = plan.nodes.map(
    (n) => `    ${q(`nats-route://${plan.routeUser}:${plan.routePassword}@${host}:${n.clusterPort}`)}`,
  );
  return [
    `server_name: ${q(node.name)}`,
    'cluster: {',
    `  name: ${q(plan.name)}`,
    `  host: ${q(plan.host)}`,
    `  port: ${node.clusterPort}`,
    '  authorization: {',
    `    user: ${q(plan.routeUser)}`,
    `    password: ${q(plan.routePassword)}`,
    '    timeout: 2',
    '  }',
    '  routes: [',
    ...routes,
    '  ]',
    '}',
    '',
  ].join('\n');
}

/**
 * Writes node `index`'s configuration file (mode 0600: it holds the route
 * password): `base` (the bus's auth and TLS, the same on every node) and
 * its cluster block.
 */
export async function writeNatsNodeConfig(
  file: string,
  base: string,
  plan: NatsClusterPlan,
  node: NatsClusterNode,
): Promise<void> {
  await writeFile(file, `${base.trimEnd()}\n\n${natsClusterConfig(plan, node)}`, { mode: 0o600 });
}

/** A nats-server log line saying that the JetStream cluster has a meta leader (JetStream is usable). */
export const JETSTREAM_LEADER_LINE =
  /JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/;
