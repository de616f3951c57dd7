import { booleanOption } from '../commands/args-parser.js';
import { defineCommand } from '../commands/command.js';

export const upCommand = defineCommand({
  path: ['up'],
  usage: 'latchkey up [--insecure]',
  summary: 'start Latchkey on this machine in the foreground (NATS, PostgreSQL, the four services); Ctrl-C stops it',
  options: { insecure: { type: 'boolean' } },
  details: [
    'NATS: one nats-server on LATCHKEY_NATS_PORT (7422), or the NATS of LATCHKEY_NATS_URL (one URL or several,',
    '  comma-separated, each nats:// or tls://). LATCHKEY_NATS_NODES=3 (1 to 5) starts that many nats-server',
    '  nodes as one JetStream cluster instead (client ports LATCHKEY_NATS_PORT and the ports after it, or free',
    '  ones with 0; routes on free ports; logs in logs/nats-N.log). LATCHKEY_NATS_REPLICAS: servers that keep',
    '  each stream, consumer and KV bucket (default 3 on three or more nodes, else 1; at most the nodes).',
    'LATCHKEY_REPLICAS (1): replicas of each service.',
    'A service replica or NATS node that dies unexpectedly is restarted on its ports after 0.5, 1, 2, 4, 8 s,',
    '  each restart reported; five quick deaths in a row stop Latchkey.',
  ],
  async run({ parsed }, io) {
    // Loaded here: what starting a system needs (PostgreSQL, NATS, key generation) is no other command's load.
    const { runUp } = await import('./up-command.js');
    // --insecure: plaintext gRPC for local debugging (as LATCHKEY_INSECURE=1).
    return runUp(booleanOption(parsed, 'insecure') ? { ...io, env: { ...io.env, LATCHKEY_INSECURE: '1' } } : io);
  },
});
