import { runTraced } from './cli-tracing.js';
import { UsageError } from './output/cli-errors.js';
import { processIo, type CliIo } from './output/cli-io.js';
import { commandHelp, commandsUnder, findCommand, generalHelp } from './commands/command-table.js';
import { reportError } from './output/error-report.js';
import { printableLines } from './output/terminal-text.js';

const isHelp = (a: string | undefined): boolean => a === '--help' || a === '-h' || a === 'help';

/** Runs the `latchkey` command line; resolves with the process exit code. */
export async function main(argv: readonly string[], rawIo: CliIo = processIo()): Promise<number> {
  // Everything printed goes through here: no control character from a server reaches the terminal.
  const io: CliIo = {
    ...rawIo,
    out: (line) => rawIo.out(printableLines(line)),
    err: (line) => rawIo.err(printableLines(line)),
  };
  const first = argv[0];
  if (first === undefined || (isHelp(first) && argv.length === 1)) {
    for (const line of generalHelp()) (first === undefined ? io.err : io.out)(line);
    return first === undefined ? 2 : 0;
  }
  if (first === 'help') return main([...argv.slice(1), '--help'], io);
  if (first === '--version') {
    io.out('latchkey 0.1.0');
    return 0;
  }

  const found = findCommand(argv);
  if (found === undefined) {
    const group = commandsUnder(first);
    if (group.length > 0) {
      if (argv.slice(1).some(isHelp) || argv.length === 1) {
        const out = argv.length === 1 ? io.err : io.out;
        for (const c of group) out(`usage: ${c.usage}`);
        return argv.length === 1 ? 2 : 0;
      }
      io.err(`latchkey: unknown ${first} command ${JSON.stringify(argv[1])}`);
      for (const c of group) io.err(`usage: ${c.usage}`);
      return 2;
    }
    io.err(`latchkey: unknown command ${JSON.stringify(first)}`);
    io.err('usage: latchkey <command> [options]   (latchkey --help lists the commands)');
    return 2;
  }

  const { command, rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) {
    for (const line of commandHelp(command)) io.out(line);
    return 0;
  }
  try {
    return await runTraced(io.env, command.path, () => command.run(rest, io));
  } catch (err) {
    if (err instanceof UsageError && err.usage === undefined) err.usage = command.usage;
    const { lines, exitCode } = reportError(err, io.env);
    for (const line of lines) io.err(line);
    return exitCode;
  }
}
