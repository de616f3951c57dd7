import { booleanOption } from '../commands/args-parser.js';
import { defineCommand } from '../commands/command.js';

export const upCommand = defineCommand({
  path: ['up'],
  usage: 'latchkey up [--insecure]',
  summary: 'start Latchkey on this machine in the foreground (NATS, PostgreSQL, the four services); Ctrl-C stops it',
  options: { insecure: { type: 'boolean' } },
  async run({ parsed }, io) {
    // Loaded here: what starting a system needs (PostgreSQL, NATS, key generation) is no other command's load.
    const { runUp } = await import('./up-command.js');
    // --insecure: plaintext gRPC for local debugging (as LATCHKEY_INSECURE=1).
    return runUp(booleanOption(parsed, 'insecure') ? { ...io, env: { ...io.env, LATCHKEY_INSECURE: '1' } } : io);
  },
});
