import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { initTracing, inSpan, otlpTracesUrl, setSpanAttributes, shutdownTracing } from './tracing.js';

test('the traces URL comes from the standard variables, and export is off without one', () => {
  assert.equal(otlpTracesUrl({}), undefined);
  assert.equal(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }), undefined);
  assert.equal(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), 'http://c:4318/v1/traces');
  assert.equal(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }), 'http://c:4318/v1/traces');
  assert.equal(
    otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/x' }),
    'http://t/x',
    'the signal-specific URL is taken as it is',
  );
  assert.equal(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }), undefined);
});

test('an exported span holds only allow-listed attributes: no body, header, event or error message leaves the process', async (t) => {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(`${req.method} ${req.url} ${req.headers['content-type']}\n${Buffer.concat(chunks).toString('utf8')}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const canary = 'canary-7d1f0a9e3b';

  initTracing({
    serviceName: 'latchkey-test',
    instanceId: 'test-1',
    tracesUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
  });
  const failure = Object.assign(new Error(`could not read ${canary}`), { code: 'secret.unreadable' });
  await assert.rejects(
    inSpan(
      'catalog/readValues',
      async () => {
        setSpanAttributes({ 'latchkey.principal': 'service:resolver' });
        const span = trace.getActiveSpan();
        // What a careless caller might add: none of it is exported.
        span?.setAttribute('rpc.request.body', canary);
        span?.setAttribute('latchkey.domain', `${canary}${'x'.repeat(300)}`);
        span?.addEvent('value read', { value: canary });
        span?.setStatus({ code: 2, message: canary });
        await Promise.resolve();
        throw failure;
      },
      undefined,
      { kind: 'server', attributes: { 'rpc.system': 'grpc', 'rpc.method': 'readValues' } },
    ),
    failure,
  );
  await shutdownTracing();

  const text = bodies.join('\n');
  assert.match(text, /^POST \/v1\/traces application\/json/, text);
  assert.ok(!text.includes(canary), `nothing of the value is exported:\n${text}`);
  const doc = JSON.parse(text.slice(text.indexOf('\n') + 1)) as {
    resourceSpans: {
      resource: { attributes: { key: string; value: { stringValue?: string } }[] };
      scopeSpans: {
        spans: {
          name: string;
          kind: number;
          attributes: { key: string; value: { stringValue?: string } }[];
          events?: unknown[];
          status: { code: number; message?: string };
        }[];
      }[];
    }[];
  };
  const rs = doc.resourceSpans[0];
  const resource = Object.fromEntries((rs?.resource.attributes ?? []).map((a) => [a.key, a.value.stringValue]));
  assert.equal(resource['service.name'], 'latchkey-test');
  assert.equal(resource['service.instance.id'], 'test-1');
  const span = rs?.scopeSpans[0]?.spans[0];
  assert.equal(span?.name, 'catalog/readValues');
  assert.equal(span?.kind, 2, 'a server span');
  assert.deepEqual(
    Object.fromEntries((span?.attributes ?? []).map((a) => [a.key, a.value.stringValue])),
    {
      'rpc.system': 'grpc',
      'rpc.method': 'readValues',
      'latchkey.principal': 'service:resolver',
      'latchkey.error_code': 'secret.unreadable',
    },
    'the allow-listed attributes, and the error by its code',
  );
  assert.equal(span?.events?.length ?? 0, 0, 'no span event is exported');
  assert.equal(span?.status.code, 2, 'the span is marked as an error');
  assert.ok(!span?.status.message, 'without a message');
});
