import { UsageError } from '../output/cli-errors.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** A string option that may be given more than once (read with listOption). */
  repeatable?: boolean;
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface ParsedArgs {
  /** Option values by long name; a boolean option is `true` when present. */
  values: Map<string, string | boolean>;
  positionals: string[];
  /** Every value of each repeatable option, in order. */
  lists?: Map<string, string[]>;
}

/**
 * A small strict parser: `--name value`, `--name=value`, `-f value`, boolean
 * `--json`, `--` ends options, a lone `-` is a positional. Unknown options,
 * missing values and repeated options are usage errors.
 */
export function parseArgs(argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const values = new Map<string, string | boolean>();
  const lists = new Map<string, string[]>();
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short !== undefined) byShort.set(spec.short, name);

  const set = (name: string, value: string | boolean, shown: string): void => {
    if (specs[name]?.repeatable === true && typeof value === 'string') {
      lists.set(name, [...(lists.get(name) ?? []), value]);
      values.set(name, value);
      return;
    }
    if (values.has(name)) throw new UsageError(`${shown} is given more than once`);
    values.set(name, value);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    let shown: string;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const long = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
      shown = `--${long}`;
      name = Object.hasOwn(specs, long) ? long : undefined;
    } else {
      const short = arg.slice(1, 2);
      inline = arg.length > 2 ? arg.slice(2) : undefined;
      shown = `-${short}`;
      name = byShort.get(short);
    }
    if (name === undefined) throw new UsageError(`unknown option ${shown}`);
    const spec = specs[name];
    if (spec?.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`${shown} takes no value`);
      set(name, true, shown);
      continue;
    }
    if (inline !== undefined) {
      set(name, inline, shown);
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || (next.startsWith('-') && next !== '-')) {
      throw new UsageError(`${shown} needs a value`);
    }
    set(name, next, shown);
    i++;
  }
  return { values, positionals, lists };
}

/** Every value given for a repeatable option ([] when absent). */
export function listOption(parsed: ParsedArgs, name: string): string[] {
  return parsed.lists?.get(name) ?? [];
}

export function stringOption(parsed: ParsedArgs, name: string): string | undefined {
  const v = parsed.values.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function booleanOption(parsed: ParsedArgs, name: string): boolean {
  return parsed.values.get(name) === true;
}

export function requireOption(parsed: ParsedArgs, name: string): string {
  const v = stringOption(parsed, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/**
 * Exactly `names.length` positionals, named in the error message. With
 * `extraArgument`, an extra one is not echoed but that is said instead (where
 * it is most likely a secret typed on the command line).
 */
export function requirePositionals(parsed: ParsedArgs, names: readonly string[], extraArgument?: string): string[] {
  if (parsed.positionals.length < names.length) {
    throw new UsageError(`missing ${names.slice(parsed.positionals.length).join(' ')}`);
  }
  if (parsed.positionals.length > names.length) {
    throw new UsageError(
      extraArgument === undefined
        ? `unexpected argument ${JSON.stringify(parsed.positionals[names.length])}`
        : `unexpected extra argument (not repeated here): ${extraArgument}`,
    );
  }
  return parsed.positionals.slice(0, names.length);
}
