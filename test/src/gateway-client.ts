import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { localIssuerFiles, mintLocalToken } from '@latchkey/grpc';
import type { RunningSystem } from './system-harness.js';

/** One gateway answer as a test reads it. */
export interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: Record<string, unknown>;
}

/** The problem+json body of a refused call. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

export type ApiCall = (method: string, path: string, token: string | undefined, body?: unknown) => Promise<Answer>;

/**
 * HTTPS calls to the gateway at `base`, trusting only `ca` (the data folder's CA);
 * every answer is pushed onto `answers` for the canary scan.
 */
export function gatewayApi(base: string, ca: Buffer, answers: Answer[]): ApiCall {
  return (method, path, token, body) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        `${base}${path}`,
        {
          method,
          ca,
          headers: {
            ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => {
            let json: Record<string, unknown> = {};
            try {
              json = JSON.parse(text) as Record<string, unknown>;
            } catch {
              json = {};
            }
            const a = { status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), text, json };
            answers.push(a);
            resolve(a);
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  };
}

/**
 * The gateway of a system `latchkey up` started (the API URL it printed,
 * trusting the data folder's CA), and in `tokens` a token for each of its
 * users as latchkey login makes them (the local issuer's, minted here to
 * save a process per user).
 */
export async function systemGatewayApi(
  sys: RunningSystem,
  answers: Answer[],
  tokens: Record<string, string>,
): Promise<ApiCall> {
  const m = /^API: (https:\/\/127\.0\.0\.1:\d+)\/api\/ /m.exec(sys.output());
  assert.ok(m?.[1], `latchkey up printed the API URL:\n${sys.output()}`);
  const key = localIssuerFiles(sys.home).signingKeyFile;
  for (const user of Object.keys(tokens)) {
    tokens[user] = (await mintLocalToken(key, { user, groups: [], ttlSec: 3600 })).token;
  }
  return gatewayApi(m[1], await readFile(join(sys.home, 'tls', 'ca.crt')), answers);
}

export function problemOf(a: Answer): Problem {
  assert.match(a.contentType, /^application\/problem\+json/, a.text);
  return a.json as unknown as Problem;
}

export function ok(a: Answer, status = 200): Record<string, unknown> {
  assert.equal(a.status, status, a.text);
  return a.json;
}
