import { createRequire } from 'node:module';
import {
  context,
  diag,
  DiagLogLevel,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type AttributeValue,
  type Attributes,
  type Context,
} from '@opentelemetry/api';
import type * as ContextAsyncHooks from '@opentelemetry/context-async-hooks';
import type * as OtelCore from '@opentelemetry/core';
import type * as OtlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as Resources from '@opentelemetry/resources';
import type * as SdkTraceBase from '@opentelemetry/sdk-trace-base';
import type { Logger } from './logger.js';

/**
 * The OpenTelemetry SDK is loaded when tracing is started (a service's
 * start, or a CLI call with an OTLP endpoint set), not when this module is: a
 * CLI call only injects trace headers, which @opentelemetry/api does alone,
 * and loading the SDK costs each such process about 0.2 s of CPU; the OTLP
 * exporter is loaded only when an endpoint is set. (Loaded synchronously, so
 * initTracing stays sync.)
 */
const requireSdk = createRequire(import.meta.url);

/**
 * The only span attributes that leave a process: names of things (ids,
 * domains, subjects, method names), counts and status codes, never a request
 * body, a header or an error message. Anything else set on a span is dropped
 * before export (see AllowListProcessor), and so are span events and status
 * messages.
 */
export const TRACE_ATTRIBUTES = [
  'rpc.system',
  'rpc.service',
  'rpc.method',
  'rpc.grpc.status_code',
  'messaging.system',
  'messaging.destination.name',
  'messaging.message.id',
  'cloudevents.event_type',
  'latchkey.command',
  'latchkey.exit_code',
  'latchkey.domain',
  'latchkey.principal',
  'latchkey.error_code',
] as const;

export type TraceAttributeName = (typeof TRACE_ATTRIBUTES)[number];
export type TraceAttributes = Partial<Record<TraceAttributeName, string | number | boolean>>;

const ALLOWED: ReadonlySet<string> = new Set(TRACE_ATTRIBUTES);
/** A name of a thing is short; anything longer is not one (and is not exported). */
const MAX_ATTRIBUTE_CHARS = 256;

function allowedAttributes(attributes: Attributes): { kept: Attributes; dropped: number } {
  const kept: Attributes = {};
  let dropped = 0;
  for (const [k, v] of Object.entries(attributes)) {
    if (ALLOWED.has(k) && isScalar(v)) kept[k] = v;
    else dropped++;
  }
  return { kept, dropped };
}

function isScalar(v: AttributeValue | undefined): v is string | number | boolean {
  return typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length <= MAX_ATTRIBUTE_CHARS);
}

/** Where and as whom spans are exported; see `initTracing`. */
export interface TracingOptions {
  /** `service.name` of every span (OTEL_SERVICE_NAME), e.g. `latchkey-deployer`. */
  serviceName: string;
  /** `service.instance.id` (the replica id). */
  instanceId?: string | undefined;
  /** The OTLP/HTTP traces URL (see `otlpTracesUrl`): without it nothing is exported and no exporter is loaded. */
  tracesUrl?: string | undefined;
  /** Hears the exporter's own problems (a collector that cannot be reached), as warnings. */
  logger?: Logger | undefined;
}

/** The standard variables that switch span export on. */
export interface OtlpEnv {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  OTEL_SDK_DISABLED?: string | undefined;
}

/**
 * The URL spans are posted to, from the standard variables:
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else
 * OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`; undefined (export off) when
 * neither is set or OTEL_SDK_DISABLED is true.
 */
export function otlpTracesUrl(env: OtlpEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

interface Provider {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

let provider: Provider | undefined;

/**
 * Registers a tracer provider (so that spans have real ids, written on log
 * lines and carried as `traceparent` on every gRPC call and event), async
 * context propagation and the W3C trace-context propagator. With
 * `options.tracesUrl`, ended spans go through the allow-list (only
 * TRACE_ATTRIBUTES) to a batching processor and the OTLP/HTTP (JSON)
 * exporter; the OTEL_BSP_* and OTEL_EXPORTER_OTLP_{HEADERS,TIMEOUT,...}
 * variables tune them as the SDK documents. Once per process: later calls do
 * nothing.
 */
export function initTracing(options?: TracingOptions): void {
  if (provider) return;
  const { AsyncLocalStorageContextManager } = requireSdk(
    '@opentelemetry/context-async-hooks',
  ) as typeof ContextAsyncHooks;
  const { W3CTraceContextPropagator } = requireSdk('@opentelemetry/core') as typeof OtelCore;
  const { BasicTracerProvider, BatchSpanProcessor } = requireSdk(
    '@opentelemetry/sdk-trace-base',
  ) as typeof SdkTraceBase;
  const spanProcessors: SdkTraceBase.SpanProcessor[] = [];
  let resource: Resources.Resource | undefined;
  if (options?.tracesUrl !== undefined) {
    const { OTLPTraceExporter } = requireSdk('@opentelemetry/exporter-trace-otlp-http') as typeof OtlpHttp;
    const { resourceFromAttributes } = requireSdk('@opentelemetry/resources') as typeof Resources;
    resource = resourceFromAttributes({
      'service.name': options.serviceName,
      ...(options.instanceId !== undefined ? { 'service.instance.id': options.instanceId } : {}),
    });
    const exporter = new OTLPTraceExporter({ url: options.tracesUrl });
    spanProcessors.push(new AllowListProcessor(new BatchSpanProcessor(exporter)));
    if (options.logger) {
      const log = options.logger.child({ component: 'otlp-exporter' });
      const warn = (message: string) => log.warn(`trace export: ${message}`);
      diag.setLogger(
        { error: warn, warn, info: () => undefined, debug: () => undefined, verbose: () => undefined },
        DiagLogLevel.WARN,
      );
    }
  }
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const p = new BasicTracerProvider({ spanProcessors, ...(resource ? { resource } : {}) });
  trace.setGlobalTracerProvider(p);
  provider = p;
}

/** Exports the spans still buffered and stops exporting (a graceful drain's last step); no-op without tracing. */
export async function shutdownTracing(): Promise<void> {
  const p = provider;
  if (!p) return;
  await p.shutdown();
}

/**
 * Passes on to `next` a copy of each ended span holding only what may leave
 * the process: the allow-listed attributes, the status code without its
 * message, no events and no links (each of which carries attributes of its
 * own). What was removed is counted in the dropped counts.
 */
class AllowListProcessor implements SdkTraceBase.SpanProcessor {
  constructor(private readonly next: SdkTraceBase.SpanProcessor) {}

  onStart(): void {
    // Nothing is exported at start.
  }

  onEnd(span: SdkTraceBase.ReadableSpan): void {
    const { kept, dropped } = allowedAttributes(span.attributes);
    const safe: SdkTraceBase.ReadableSpan = {
      name: span.name,
      kind: span.kind,
      spanContext: () => span.spanContext(),
      ...(span.parentSpanContext ? { parentSpanContext: span.parentSpanContext } : {}),
      startTime: span.startTime,
      endTime: span.endTime,
      status: { code: span.status.code },
      attributes: kept,
      links: [],
      events: [],
      duration: span.duration,
      ended: span.ended,
      resource: span.resource,
      instrumentationScope: span.instrumentationScope,
      droppedAttributesCount: span.droppedAttributesCount + dropped,
      droppedEventsCount: span.droppedEventsCount + span.events.length,
      droppedLinksCount: span.droppedLinksCount + span.links.length,
    };
    this.next.onEnd(safe);
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}

/** Writes `traceparent` (and `tracestate`) of the active context into a carrier. */
export function injectTraceHeaders(carrier: Record<string, string>, ctx: Context = context.active()): void {
  propagation.inject(ctx, carrier);
}

export function extractTraceContext(carrier: Record<string, string | undefined>): Context {
  return propagation.extract(context.active(), carrier, {
    get: (c, k) => c[k],
    keys: (c) => Object.keys(c),
  });
}

export interface SpanOptions {
  /** `server` (a gRPC call handled), `consumer` (an event handled); `internal` by default. */
  kind?: 'internal' | 'server' | 'consumer' | 'client';
  attributes?: TraceAttributes;
}

const KINDS = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  consumer: SpanKind.CONSUMER,
  client: SpanKind.CLIENT,
} as const;

/** A LatchkeyError's stable code (duck-typed: this lib depends on no other). */
function errorCodeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/.test(code) ? code : 'internal';
}

/**
 * Runs `fn` in a new span, child of `parent` (the active context by default).
 * A failure marks the span as an error with the error's code
 * (`latchkey.error_code`), never its message.
 */
export async function inSpan<T>(
  name: string,
  fn: () => Promise<T>,
  parent: Context = context.active(),
  options: SpanOptions = {},
): Promise<T> {
  const tracer = trace.getTracer('latchkey');
  const span = tracer.startSpan(
    name,
    { kind: KINDS[options.kind ?? 'internal'], ...(options.attributes ? { attributes: options.attributes } : {}) },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), fn);
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.setAttribute('latchkey.error_code', errorCodeOf(err));
    throw err;
  } finally {
    span.end();
  }
}

/** Adds allow-listed attributes to the active span (none without one). */
export function setSpanAttributes(attributes: TraceAttributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}
