import { localIssuerFiles, mintLocalToken } from '@latchkey/grpc/client';
import { WhoAmIResponse } from '@latchkey/proto';
import { booleanOption, listOption, requireOption, stringOption, type ParsedArgs } from '../args-parser.js';
import { UsageError } from '../../output/cli-errors.js';
import { callOnce, resolveIdentity } from '../../client/client-context.js';
import { defineCommand, JSON_OPTION } from '../command.js';
import { resolveHome } from '../../local-state/data-folder.js';
import { identityFilePath, writeIdentityFile, type StoredIdentity } from '../../local-state/identity-file.js';
import { printJson } from '../../output/table-format.js';

/** How long a login lasts unless --hours says otherwise, and at most. */
export const DEFAULT_LOGIN_HOURS = 12;
export const MAX_LOGIN_HOURS = 24;

const USER = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._@+:/-]{0,127}$/;

/** --user, --group and --hours of login and console, checked. */
export function identityOptions(parsed: ParsedArgs): { user: string; groups: string[]; hours: number } {
  const user = requireOption(parsed, 'user');
  if (!USER.test(user)) {
    throw new UsageError(
      `--user ${JSON.stringify(user.slice(0, 40))} is not a user id: letters, digits and . _ @ + - (at most 128, starting with a letter or digit)`,
    );
  }
  const groups = listOption(parsed, 'group');
  for (const g of groups) {
    if (!GROUP.test(g)) {
      throw new UsageError(
        `--group ${JSON.stringify(g.slice(0, 40))} is not a group name: letters, digits and . _ @ + : / - (at most 128)`,
      );
    }
  }
  const hoursText = stringOption(parsed, 'hours');
  const hours = hoursText === undefined ? DEFAULT_LOGIN_HOURS : Number(hoursText);
  if (!Number.isFinite(hours) || hours <= 0 || hours > MAX_LOGIN_HOURS) {
    throw new UsageError(`--hours must be a number of hours above 0 and at most ${MAX_LOGIN_HOURS}, not ${hoursText}`);
  }
  return { user, groups: [...new Set(groups)], hours };
}

/** Signs a token with the data folder's local issuer key and stores it as the CLI's identity. */
export async function loginAs(
  home: string,
  user: string,
  groups: readonly string[],
  hours = DEFAULT_LOGIN_HOURS,
): Promise<StoredIdentity> {
  const { token, expiresAt } = await mintLocalToken(localIssuerFiles(home).signingKeyFile, {
    user,
    groups,
    ttlSec: Math.round(hours * 3600),
  });
  const identity: StoredIdentity = { user, groups: [...groups], token, expiresAt: expiresAt.toISOString() };
  await writeIdentityFile(home, identity);
  return identity;
}

export const loginCommand = defineCommand({
  path: ['login'],
  usage: 'latchkey login --user USER [--group GROUP]... [--hours N] [--print]',
  summary: 'become USER (embedded mode): a short-lived token signed by the local issuer, stored as your identity',
  options: {
    user: { type: 'string' },
    group: { type: 'string', repeatable: true },
    hours: { type: 'string' },
    print: { type: 'boolean' },
  },
  async run({ parsed }, io) {
    const { user, groups, hours } = identityOptions(parsed);
    const home = resolveHome(io.env, io.cwd);
    const identity = await loginAs(home, user, groups, hours);
    const said = `logged in as ${user}${identity.groups.length > 0 ? ` (groups ${identity.groups.join(', ')})` : ''} until ${identity.expiresAt}; stored in ${identityFilePath(home)}`;
    if (booleanOption(parsed, 'print')) {
      // The token alone on stdout (for LATCHKEY_TOKEN=$(latchkey login ... --print)); the rest on stderr.
      io.out(identity.token);
      io.err(said);
    } else {
      io.out(said);
    }
    if (io.env['LATCHKEY_TOKEN']) io.err('note: LATCHKEY_TOKEN is set and overrides this identity until you unset it');
    return 0;
  },
});

export const whoamiCommand = defineCommand({
  path: ['whoami'],
  usage: 'latchkey whoami [--json]',
  summary: 'who the services take you for: user, groups, platform admin, and where your token comes from',
  options: JSON_OPTION,
  async run({ json }, io) {
    const home = resolveHome(io.env, io.cwd);
    const identity = await resolveIdentity(io.env, home);
    const res = await callOnce(io, 'ras', (ras) => ras.whoAmI, {});
    const expiresAt = identity.stored?.expiresAt;
    if (json) {
      return printJson(io.out, {
        ...(WhoAmIResponse.toJSON(res) as object),
        groups: res.groups,
        tokenSource: identity.source,
        ...(expiresAt !== undefined ? { expiresAt } : {}),
      });
    }
    io.out(`user: ${res.principal}`);
    io.out(`groups: ${res.groups.length > 0 ? res.groups.join(', ') : '(none)'}`);
    io.out(`platform admin: ${res.platformAdmin ? 'yes' : 'no'}`);
    io.out(
      `token: ${identity.source === 'LATCHKEY_TOKEN' ? 'LATCHKEY_TOKEN' : identityFilePath(home)}${expiresAt !== undefined ? ` (expires ${expiresAt})` : ''}`,
    );
    return 0;
  },
});
