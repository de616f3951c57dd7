import assert from 'node:assert/strict';
import { request } from 'node:https';

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

export function problemOf(a: Answer): Problem {
  assert.match(a.contentType, /^application\/problem\+json/, a.text);
  return a.json as unknown as Problem;
}

export function ok(a: Answer, status = 200): Record<string, unknown> {
  assert.equal(a.status, status, a.text);
  return a.json;
}
