import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One exported span, flattened from OTLP/JSON with its resource's `service.name`. */
export interface ReceivedSpan {
  service: string;
  instance: string | undefined;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind number (1 internal, 2 server, 3 client, 4 producer, 5 consumer). */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP's status code (0 unset, 1 ok, 2 error). */
  statusCode: number;
  eventCount: number;
}

/**
 * An OTLP/HTTP receiver for traces (`POST /v1/traces`, JSON, as
 * @opentelemetry/exporter-trace-otlp-http sends them): keeps every byte
 * received (for canary scans) and the spans decoded.
 */
export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: the value of OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  spans(): ReceivedSpan[];
  /** Every request body received, decompressed, and every request header, as latin1 text. */
  rawText(): string;
  /** Requests that were not OTLP/JSON traces (path, content type), kept to explain a failed test. */
  rejected(): string[];
  close(): Promise<void>;
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number };
  events?: unknown[];
}
interface OtlpTraces {
  resourceSpans?: { resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

function scalar(v: OtlpAnyValue | undefined): string | number | boolean {
  if (v?.stringValue !== undefined) return v.stringValue;
  if (v?.intValue !== undefined) return Number(v.intValue);
  if (v?.doubleValue !== undefined) return v.doubleValue;
  if (v?.boolValue !== undefined) return v.boolValue;
  return '';
}

function attributesOf(list: OtlpKeyValue[] | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, scalar(kv.value)]));
}

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

/** Starts an OTLP/HTTP trace receiver on 127.0.0.1 (a free port). */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const raw: string[] = [];
  const rejected: string[] = [];
  const server = createServer((req, res) => {
    void bodyOf(req).then(
      (body) => {
        raw.push(JSON.stringify(req.headers), body.toString('latin1'));
        const type = req.headers['content-type'] ?? '';
        if (req.method !== 'POST' || req.url !== '/v1/traces' || !type.startsWith('application/json')) {
          rejected.push(`${req.method} ${req.url} (${type})`);
          res.writeHead(404).end();
          return;
        }
        let doc: OtlpTraces;
        try {
          doc = JSON.parse(body.toString('utf8')) as OtlpTraces;
        } catch {
          rejected.push(`${req.url}: not JSON`);
          res.writeHead(400).end();
          return;
        }
        for (const rs of doc.resourceSpans ?? []) {
          const resource = attributesOf(rs.resource?.attributes);
          const instance = resource['service.instance.id'];
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                service: String(resource['service.name'] ?? ''),
                instance: instance === undefined ? undefined : String(instance),
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? '',
                name: s.name,
                kind: s.kind ?? 0,
                attributes: attributesOf(s.attributes),
                statusCode: s.status?.code ?? 0,
                eventCount: s.events?.length ?? 0,
              });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      },
      () => res.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => [...spans],
    rawText: () => raw.join('\n'),
    rejected: () => [...rejected],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
