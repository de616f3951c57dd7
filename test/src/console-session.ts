import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import type { RunningSystem } from './system-harness.js';

/** What signIn needs of a browser page (a playwright-core Page has it). */
export interface PageLike {
  goto(url: string): Promise<unknown>;
}

/** A one-time console login link for `user`, printed by `latchkey console --user USER` as a user would. */
export async function consoleLink(
  system: Pick<RunningSystem, 'cli'>,
  user: string,
  groups: readonly string[] = [],
): Promise<string> {
  const res = await system.cli(['console', '--user', user, ...groups.flatMap((g) => ['--group', g])]);
  if (res.code !== 0) throw new Error(`latchkey console --user ${user} failed: ${res.stderr}${res.stdout}`);
  const url = res.stdout.trim();
  if (!/^https?:\/\/127\.0\.0\.1:\d+\/login\?code=[A-Za-z0-9_-]+$/.test(url)) {
    throw new Error(`latchkey console printed no login link: ${res.stdout}`);
  }
  return url;
}

/**
 * Signs `page` in to the console of `system` as `user`: prints a login link
 * with the CLI and opens it; the gateway sets the session cookie and sends
 * the browser to the console. The page's context must trust the data
 * folder's CA (tls/ca.crt), or ignore HTTPS errors for 127.0.0.1.
 */
export async function signIn(
  page: PageLike,
  system: Pick<RunningSystem, 'cli'>,
  user: string,
  groups: readonly string[] = [],
): Promise<void> {
  await page.goto(await consoleLink(system, user, groups));
}

/** One HTTPS answer of the gateway, read whole. */
export interface GatewayAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): unknown;
}

/** An HTTPS client of the system's gateway that trusts its data folder's CA (as `curl --cacert` would). */
export async function gatewayClient(
  home: string,
): Promise<(method: string, url: string, headers?: Record<string, string>, body?: string) => Promise<GatewayAnswer>> {
  const ca = await readFile(join(home, 'tls/ca.crt'));
  return (method, url, headers = {}, body) =>
    new Promise((resolve, reject) => {
      const req = request(url, { method, headers, ca }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text,
            json: () => JSON.parse(text) as unknown,
          }),
        );
      });
      req.on('error', reject);
      req.end(body);
    });
}
