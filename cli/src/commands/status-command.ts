import { checkHealth } from '@latchkey/grpc/client';
import { defineCommand, JSON_OPTION } from './command.js';
import { clientTlsOf } from '../client/client-context.js';
import { locateConnection, readConnectionFile } from '../local-state/connection-file.js';
import { printJson, printTable } from '../output/table-format.js';

const SERVICES = ['catalog', 'ras', 'resolver', 'deployer'] as const;

export const statusCommand = defineCommand({
  path: ['status'],
  usage: 'latchkey status [--json]',
  summary: 'check that every service answers its health check',
  options: JSON_OPTION,
  async run({ json }, io) {
    const where = locateConnection(io.env, io.cwd);
    const connection = await readConnectionFile(where);
    const tls = await clientTlsOf(connection, io, where.file);
    const results = await Promise.all(
      SERVICES.map(async (name) => ({
        name,
        address: connection[name],
        up: await checkHealth(connection[name], 3000, tls),
      })),
    );
    const allUp = results.every((r) => r.up);
    // Every replica's Prometheus listener, as `latchkey up` started them.
    const metrics = (connection.metrics ?? []).map((m) => ({ ...m, url: `http://${m.address}/metrics` }));
    if (json) printJson(io.out, { ok: allUp, services: results, metrics });
    else {
      printTable(
        io.out,
        ['SERVICE', 'ADDRESS', 'STATE'],
        results.map((r) => [r.name, r.address, r.up ? 'up' : 'down']),
      );
      if (metrics.length > 0) {
        io.out('');
        printTable(
          io.out,
          ['REPLICA', 'METRICS'],
          metrics.map((m) => [m.replica, m.url]),
        );
      }
    }
    if (!allUp) {
      const down = results.filter((r) => !r.up).map((r) => r.name);
      io.err(
        `latchkey: not healthy: ${down.join(', ')} ${down.length === 1 ? 'does' : 'do'} not answer (see the logs in the data folder)`,
      );
      return 1;
    }
    return 0;
  },
});
