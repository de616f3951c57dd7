import { booleanOption, parseArgs, requirePositionals } from '../commands/args-parser.js';
import type { CliIo } from '../output/cli-io.js';
import type { Command } from '../commands/command.js';
import { runUp } from './up-command.js';

export const upCommand: Command = {
  path: ['up'],
  usage: 'latchkey up [--insecure]',
  summary: 'start Latchkey on this machine in the foreground (NATS, PostgreSQL, the four services); Ctrl-C stops it',
  options: { insecure: { type: 'boolean' } },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    requirePositionals(parsed, []);
    // --insecure: plaintext gRPC for local debugging (as LATCHKEY_INSECURE=1).
    return runUp(booleanOption(parsed, 'insecure') ? { ...io, env: { ...io.env, LATCHKEY_INSECURE: '1' } } : io);
  },
};
