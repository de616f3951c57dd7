export type { Logger, LogFields, LoggerOptions } from './logger.js';
export { createLogger, silentLogger } from './logger.js';
export {
  DEFAULT_MAX_LINE_BYTES,
  MIN_REDACTABLE_BYTES,
  Redactor,
  StreamRedactor,
  maskKeyValues,
  REDACTED,
  valueForms,
} from './redactor.js';
export type { FormEntry, StreamRedactorOptions, StreamRedactorStats } from './redactor.js';
export {
  initTracing,
  injectTraceHeaders,
  extractTraceContext,
  inSpan,
  otlpTracesUrl,
  setSpanAttributes,
  shutdownTracing,
  TRACE_ATTRIBUTES,
} from './tracing.js';
export type { OtlpEnv, SpanOptions, TraceAttributeName, TraceAttributes, TracingOptions } from './tracing.js';
