import { context, propagation, trace, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

let initialised = false;

/**
 * Registers a tracer provider (so that spans have real ids), async context
 * propagation and the W3C trace-context propagator. No exporter: spans are
 * correlated through `traceparent` on every gRPC call and event, and the
 * trace id is written on log lines.
 */
export function initTracing(): void {
  if (initialised) return;
  initialised = true;
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
