import { createRequire } from 'node:module';
import { context, propagation, trace, type Context } from '@opentelemetry/api';
import type * as ContextAsyncHooks from '@opentelemetry/context-async-hooks';
import type * as OtelCore from '@opentelemetry/core';
import type * as SdkTraceBase from '@opentelemetry/sdk-trace-base';

let initialised = false;

/**
 * The OpenTelemetry SDK is loaded when tracing is started (a service's
 * start), not when this module is: a CLI call only injects trace headers,
 * which @opentelemetry/api does alone, and loading the SDK costs each such
 * process about 0.2 s of CPU. (Loaded synchronously, so initTracing stays sync.)
 */
const requireSdk = createRequire(import.meta.url);

/**
 * Registers a tracer provider (so that spans have real ids), async context
 * propagation and the W3C trace-context propagator. No exporter: spans are
 * correlated through `traceparent` on every gRPC call and event, and the
 * trace id is written on log lines.
 */
export function initTracing(): void {
  if (initialised) return;
  initialised = true;
  const { AsyncLocalStorageContextManager } = requireSdk(
    '@opentelemetry/context-async-hooks',
  ) as typeof ContextAsyncHooks;
  const { W3CTraceContextPropagator } = requireSdk('@opentelemetry/core') as typeof OtelCore;
  const { BasicTracerProvider } = requireSdk('@opentelemetry/sdk-trace-base') as typeof SdkTraceBase;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider());
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

/** Runs `fn` in a new span, child of `parent` (the active context by default). */
export async function inSpan<T>(name: string, fn: () => Promise<T>, parent: Context = context.active()): Promise<T> {
  const tracer = trace.getTracer('latchkey');
  const span = tracer.startSpan(name, undefined, parent);
  try {
    return await context.with(trace.setSpan(parent, span), fn);
  } finally {
    span.end();
  }
}
