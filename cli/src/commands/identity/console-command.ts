import { readFile } from 'node:fs/promises';
import { importSealPublicKey, sealLoginLink } from '@latchkey/crypto';
import { localIssuerFiles, mintLocalToken } from '@latchkey/grpc/client';
import { CliError } from '../../output/cli-errors.js';
import { defineCommand } from '../command.js';
import { resolveHome } from '../../local-state/data-folder.js';
import { locateConnection, readConnectionFile } from '../../local-state/connection-file.js';
import { identityOptions } from './identity-commands.js';

/**
 * A one-time console login link for `user` (embedded mode): a token minted
 * with the local issuer key (lasting `hours`, as the session will), sealed
 * with a fresh id and a 5-minute expiry to the gateways' login-link key, so
 * that the URL itself holds no usable credential.
 */
export async function consoleLoginLink(
  home: string,
  gatewayUrl: string,
  identity: { user: string; groups: readonly string[]; hours: number },
): Promise<{ url: string; expiresAt: Date }> {
  const { token } = await mintLocalToken(localIssuerFiles(home).signingKeyFile, {
    user: identity.user,
    groups: identity.groups,
    ttlSec: Math.round(identity.hours * 3600),
  });
  // Loaded here, not with the command table: key-material brings the bus's key code (NATS),
  // which no other CLI call needs (cli/src/startup-load.test.ts).
  const { keyMaterialPaths } = await import('../../local-state/key-material.js');
  const file = keyMaterialPaths(home).loginLinkPublicKeyFile;
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch {
    throw new CliError(`no console login-link key ${file}: start Latchkey with this data folder (npm start) first`, {
      code: 'cli.no_login_link_key',
    });
  }
  const { code, expiresAt } = sealLoginLink(importSealPublicKey(pem), token);
  return { url: `${gatewayUrl}/login?code=${code}`, expiresAt };
}

export const consoleCommand = defineCommand({
  path: ['console'],
  usage: 'latchkey console --user USER [--group GROUP]... [--hours N]',
  summary:
    'print a one-time link that signs USER in to the web console (embedded mode; the link works once, for 5 minutes)',
  options: {
    user: { type: 'string' },
    group: { type: 'string', repeatable: true },
    hours: { type: 'string' },
  },
  async run({ parsed }, io) {
    const identity = identityOptions(parsed);
    const home = resolveHome(io.env, io.cwd);
    const connection = await readConnectionFile(locateConnection(io.env, io.cwd));
    if (connection.gateway === undefined) {
      throw new CliError('this Latchkey runs no HTTP gateway (no console): restart it with npm start', {
        code: 'cli.no_gateway',
      });
    }
    const { url, expiresAt } = await consoleLoginLink(home, connection.gateway, identity);
    // The link alone on stdout (to open or pipe); what it does on stderr.
    io.out(url);
    io.err(
      `opens the console as ${identity.user}${identity.groups.length > 0 ? ` (groups ${identity.groups.join(', ')})` : ''}: works once, until ${expiresAt.toISOString()}; the session lasts ${identity.hours} h`,
    );
    return 0;
  },
});
