import { initTracing, inSpan, otlpTracesUrl, setSpanAttributes, shutdownTracing } from '@latchkey/logger/tracing';

/** How long a CLI call waits, at its end, for its spans to reach a collector before it exits anyway. */
export const SPAN_FLUSH_MS = 3000;

/**
 * Runs a CLI verb in a span of its own (`cli/<command words>`, service
 * `latchkey-cli` unless OTEL_SERVICE_NAME says otherwise) exported to the
 * collector that OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) names, so
 * that the services' spans of the calls it makes join its trace. Without an
 * endpoint it only runs the verb: no tracing SDK is loaded, as the startup
 * cost of every CLI call is (cli/src/startup-load.test.ts). `latchkey up`
 * (a launcher that runs until stopped) is never one span.
 */
export async function runTraced(
  env: NodeJS.ProcessEnv,
  path: readonly string[],
  run: () => Promise<number>,
): Promise<number> {
  const tracesUrl = path[0] === 'up' ? undefined : otlpTracesUrl(env);
  if (tracesUrl === undefined) return run();
  const command = path.join(' ');
  initTracing({ serviceName: env['OTEL_SERVICE_NAME']?.trim() || 'latchkey-cli', tracesUrl });
  try {
    return await inSpan(
      `cli/${command}`,
      async () => {
        const code = await run();
        setSpanAttributes({ 'latchkey.exit_code': code });
        return code;
      },
      undefined,
      { attributes: { 'latchkey.command': command } },
    );
  } finally {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      shutdownTracing().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SPAN_FLUSH_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }
}
