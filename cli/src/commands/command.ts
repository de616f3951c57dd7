import type { CliIo } from '../output/cli-io.js';
import { printJson, printLines } from '../output/table-format.js';
import { booleanOption, parseArgs, requirePositionals, type OptionSpecs, type ParsedArgs } from './args-parser.js';

export interface Command {
  /** The words that select it, e.g. ['secret', 'put']. */
  path: readonly string[];
  usage: string;
  summary: string;
  options: OptionSpecs;
  /** More lines for its --help, after the summary. */
  details?: readonly string[];
  /** Runs with the arguments after the command words; resolves with the exit code. */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

/** What a command's body is given: its arguments, parsed and checked. */
export interface CommandArgs {
  parsed: ParsedArgs;
  /** Exactly the positionals the spec names, in order (every one given, when the spec says `any`). */
  positionals: string[];
  /** --json was given. */
  json: boolean;
}

export interface CommandSpec {
  path: readonly string[];
  usage: string;
  summary: string;
  options: OptionSpecs;
  /** More lines for its --help, after the summary. */
  details?: readonly string[];
  /** The positionals the command takes, by name (none when absent); `any`: the body checks them itself. */
  positionals?: readonly string[] | 'any';
  /**
   * Said of an extra positional instead of repeating it, on verbs where it is
   * most likely a secret typed on the command line.
   */
  extraArgument?: string;
  /** Runs on the raw arguments before they are parsed (to refuse a secret typed there without echoing it). */
  before?: (argv: readonly string[]) => void;
  run(args: CommandArgs, io: CliIo): Promise<number>;
}

/** A Command whose arguments are parsed against its options and positionals before its body runs. */
export function defineCommand(spec: CommandSpec): Command {
  const { path, usage, summary, options } = spec;
  return {
    path,
    usage,
    summary,
    options,
    ...(spec.details === undefined ? {} : { details: spec.details }),
    async run(argv, io) {
      spec.before?.(argv);
      const parsed = parseArgs(argv, options);
      const positionals =
        spec.positionals === 'any'
          ? parsed.positionals
          : requirePositionals(parsed, spec.positionals ?? [], spec.extraArgument);
      return spec.run({ parsed, positionals, json: booleanOption(parsed, 'json') }, io);
    },
  };
}

/** The --json option, which every read takes. */
export const JSON_OPTION = { json: { type: 'boolean' } } as const;

/** Options that each take a value (--NAME VALUE). */
export const stringOptions = (...names: string[]): OptionSpecs =>
  Object.fromEntries(names.map((name) => [name, { type: 'string' }]));

export interface CallCommandSpec<Res> extends Omit<CommandSpec, 'run'> {
  /** Checks the arguments and makes the one call whose answer is printed. */
  call(args: CommandArgs, io: CliIo): Promise<Res>;
  /** The answer as --json prints it. */
  json(res: Res): unknown;
  /** The answer as lines for a person. */
  lines(res: Res, args: CommandArgs): readonly string[];
}

/** A command that makes one call and prints its answer: as JSON with --json, else as lines; exit 0. */
export function callCommand<Res>(spec: CallCommandSpec<Res>): Command {
  const { call, json, lines, ...command } = spec;
  return defineCommand({
    ...command,
    async run(args, io) {
      const res = await call(args, io);
      if (args.json) return printJson(io.out, json(res));
      printLines(io.out, lines(res, args));
      return 0;
    },
  });
}
