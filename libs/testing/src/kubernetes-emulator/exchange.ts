/** One request as the routes see it, and how they answer it. */
import type { ServerResponse } from 'node:http';
import { sendJson } from '../emulator-common/json-http.js';
import type { JsonObject } from './status.js';
import type { KubernetesRequestLogEntry } from './types.js';

export interface Exchange {
  method: string;
  query: URLSearchParams;
  /** The request body as text. */
  text: string;
  contentType: string;
  /** The Accept header ('' when none). */
  accept: string;
  /** `?dryRun=All`: validate and answer, store nothing. */
  dryRun: boolean;
  res: ServerResponse;
  /** The request's log entry, whose status the answer sets. */
  entry: KubernetesRequestLogEntry;
}

/** Answers a JSON body and records the status in the request log. */
export function send(x: Exchange, status: number, body: JsonObject): void {
  x.entry.status = status;
  sendJson(x.res, status, body);
}
