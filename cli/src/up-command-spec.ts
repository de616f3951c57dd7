import { parseArgs, requirePositionals } from './args-parser.js';
import type { CliIo } from './cli-io.js';
import type { Command } from './command-types.js';
import { runUp } from './up-command.js';

export const upCommand: Command = {
  path: ['up'],
  usage: 'latchkey up',
  summary: 'start Latchkey on this machine in the foreground (NATS, PostgreSQL, the four services); Ctrl-C stops it',
  options: {},
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    requirePositionals(parseArgs(argv, this.options), []);
    return runUp(io);
  },
};
