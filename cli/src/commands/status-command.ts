import { checkHealth } from '@latchkey/grpc';
import { booleanOption, parseArgs, requirePositionals } from './args-parser.js';
import type { CliIo } from '../output/cli-io.js';
import type { Command } from './command.js';
import { clientTlsOf } from '../client/client-context.js';
import { locateConnection, readConnectionFile } from '../local-state/connection-file.js';
import { formatTable, printJson } from '../output/table-format.js';

const SERVICES = ['catalog', 'ras', 'resolver', 'deployer'] as const;

export const statusCommand: Command = {
  path: ['status'],
  usage: 'latchkey status [--json]',
  summary: 'check that every service answers its health check',
  options: { json: { type: 'boolean' } },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    requirePositionals(parsed, []);
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
    if (booleanOption(parsed, 'json')) {
      printJson(io.out, { ok: allUp, services: results });
    } else {
      for (const line of formatTable(
        ['SERVICE', 'ADDRESS', 'STATE'],
        results.map((r) => [r.name, r.address, r.up ? 'up' : 'down']),
      )) {
        io.out(line);
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
};
