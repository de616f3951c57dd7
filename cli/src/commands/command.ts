import type { OptionSpecs } from './args-parser.js';
import type { CliIo } from '../output/cli-io.js';

export interface Command {
  /** The words that select it, e.g. ['secret', 'put']. */
  path: readonly string[];
  usage: string;
  summary: string;
  options: OptionSpecs;
  /** Runs with the arguments after the command words; resolves with the exit code. */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}
