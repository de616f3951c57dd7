/** The small JSON-over-HTTP pieces the Vault and Kubernetes emulators share. */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** The whole request body as UTF-8 text ('' when there is none). */
export async function readBodyText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Answers `body` as JSON with its exact length. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The query of a URL as a plain object (the last value of a repeated name wins). */
export function queryOf(url: URL): Record<string, string> {
  return Object.fromEntries(url.searchParams);
}

/** Listens on 127.0.0.1 and a free port; resolves with the port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Drops every open connection (kept-alive, streaming or in flight) and closes the server. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * The test controls both emulators offer: a delay before every answer, and
 * the next `count` requests failing with a given status (what a failure
 * looks like is the emulator's business).
 */
export class FaultInjector<Status> {
  #latencyMs = 0;
  #remaining = 0;
  #status: Status | undefined;

  setLatency(ms: number): void {
    this.#latencyMs = Math.max(0, ms);
  }

  failNext(count: number, status: Status): void {
    this.#remaining = Math.max(0, count);
    this.#status = status;
  }

  /** Waits for the configured latency, if any. */
  async delay(): Promise<void> {
    if (this.#latencyMs > 0) await delay(this.#latencyMs);
  }

  /** The status this request must fail with (counting it), or undefined when it runs normally. */
  takeFailure(): Status | undefined {
    if (this.#remaining <= 0) return undefined;
    this.#remaining -= 1;
    return this.#status;
  }
}
