import { pino, destination, type DestinationStream, type Level, type Logger as PinoBase } from 'pino';
import { trace } from '@opentelemetry/api';
import { type Redactor, REDACTED } from './redactor.js';

export type LogFields = Record<string, unknown>;

/** The logging port: everything in Latchkey logs through this. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

/** Field names whose content is masked wherever they appear. */
const SENSITIVE_PATHS = [
  'value',
  'values',
  'token',
  'password',
  'secret',
  'authorization',
  'credential',
  '*.value',
  '*.values',
  '*.token',
  '*.password',
  '*.secret',
  '*.authorization',
  '*.credential',
  'headers.authorization',
  'metadata.authorization',
];

export interface LoggerOptions {
  service: string;
  level?: Level | 'silent';
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
  /** Known secret values to mask in every line, whatever field holds them. */
  redactor?: Redactor;
}

/**
 * A pino logger, made when first needed: a child (one per gRPC call, per
 * event) costs its bindings' serialization and redaction setup only if it
 * writes a line, and a line below the level costs no fields at all.
 */
class PinoLogger implements Logger {
  private made: PinoBase | undefined;

  /** `base` itself, or (with `bindings`) the parent of the child it stands for. */
  constructor(
    private readonly base: PinoBase,
    private readonly bindings?: LogFields,
  ) {
    if (!bindings) this.made = base;
  }

  private get p(): PinoBase {
    this.made ??= this.base.child(this.bindings ?? {});
    return this.made;
  }

  private write(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: LogFields): void {
    // A child has its parent's level.
    if (!(this.made ?? this.base).isLevelEnabled(level)) return;
    this.p[level](withTrace(fields), msg);
  }

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }
  child(bindings: LogFields): Logger {
    // A child of an unmade child: one pino child with both sets of bindings, when needed.
    if (!this.made && this.bindings) return new PinoLogger(this.base, { ...this.bindings, ...bindings });
    return new PinoLogger(this.p, bindings);
  }
}

function withTrace(fields: LogFields | undefined): LogFields {
  const span = trace.getActiveSpan();
  const out: LogFields = { ...fields };
  if (span) out.trace_id = span.spanContext().traceId;
  const err = out.err;
  if (err instanceof Error) out.err = loggedError(err);
  return out;
}

/**
 * What a log line says of an error. A LatchkeyError's message is written to be
 * value-free, and a system call's (ECONNREFUSED ...) names only a host, port
 * or path: those are kept. Any other message may quote its input (Node's
 * JSON.parse quotes the text it could not parse, PostgreSQL quotes the value
 * it refused), so only its name and code are written.
 */
function loggedError(err: Error): { name: string; message: string; code: unknown } {
  const { code, syscall } = err as { code?: unknown; syscall?: unknown };
  const trusted = err.name === 'LatchkeyError' || (typeof syscall === 'string' && typeof code === 'string');
  return { name: err.name, message: trusted ? err.message : '(withheld: not a Latchkey error)', code };
}

export function createLogger(options: LoggerOptions): Logger {
  const redactor = options.redactor;
  const p = pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, pid: process.pid },
      redact: { paths: SENSITIVE_PATHS, censor: REDACTED },
      hooks: redactor ? { streamWrite: (line: string) => redactor.redact(line) } : {},
    },
    options.destination ?? destination({ fd: 1, sync: true }),
  );
  return new PinoLogger(p);
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
