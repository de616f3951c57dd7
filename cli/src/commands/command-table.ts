import { auditCommand } from './audit/audit-command.js';
import {
  bundleCreateCommand,
  bundleGrantCommand,
  bundleListCommand,
  bundleRevokeCommand,
  bundleShowCommand,
} from './domains/bundle-commands.js';
import type { Command } from './command.js';
import { deployCommand } from './workloads/deploy-command.js';
import { eventsCredentialsCommand } from './audit/events-command.js';
import {
  domainCreateCommand,
  domainGrantCommand,
  domainListCommand,
  domainMembersCommand,
  domainRevokeCommand,
} from './domains/domain-commands.js';
import { consoleCommand } from './identity/console-command.js';
import { loginCommand, whoamiCommand } from './identity/identity-commands.js';
import { importLegacyCommand } from './secrets/import-legacy-command.js';
import { inventoryCommand } from './secrets/inventory-command.js';
import { kekRotateCommand } from './secrets/kek-command.js';
import { logsCommand } from './workloads/logs-command.js';
import { migrateCommand } from './workloads/migrate-command.js';
import { redeployCommand } from './workloads/redeploy-command.js';
import {
  secretDeleteCommand,
  secretListCommand,
  secretPolicyCommand,
  secretPutCommand,
} from './secrets/secret-commands.js';
import { secretSelectorCommand } from './secrets/selector-command.js';
import {
  secretDisableCommand,
  secretEnableCommand,
  secretRestoreCommand,
  secretRollbackCommand,
  secretVersionsCommand,
} from './secrets/secret-version-commands.js';
import { statusCommand } from './status-command.js';
import { stopCommand } from './workloads/stop-command.js';
import { upCommand } from '../up/up-command-spec.js';
import {
  vaultCreateCommand,
  vaultDeleteCommand,
  vaultGetCommand,
  vaultListCommand,
  vaultTestCommand,
  vaultUpdateCommand,
} from './vault/vault-commands.js';
import { workloadApplyCommand, workloadGetCommand, workloadListCommand } from './workloads/workload-commands.js';
import { workloadTestCommand } from './workloads/workload-test-command.js';

export const COMMANDS: readonly Command[] = [
  upCommand,
  statusCommand,
  loginCommand,
  whoamiCommand,
  consoleCommand,
  domainCreateCommand,
  domainListCommand,
  domainGrantCommand,
  domainRevokeCommand,
  domainMembersCommand,
  secretPutCommand,
  secretListCommand,
  secretDeleteCommand,
  secretRestoreCommand,
  secretVersionsCommand,
  secretRollbackCommand,
  secretDisableCommand,
  secretEnableCommand,
  secretPolicyCommand,
  secretSelectorCommand,
  inventoryCommand,
  kekRotateCommand,
  bundleCreateCommand,
  bundleShowCommand,
  bundleListCommand,
  bundleGrantCommand,
  bundleRevokeCommand,
  vaultCreateCommand,
  vaultListCommand,
  vaultGetCommand,
  vaultUpdateCommand,
  vaultDeleteCommand,
  vaultTestCommand,
  workloadApplyCommand,
  workloadGetCommand,
  workloadListCommand,
  workloadTestCommand,
  deployCommand,
  redeployCommand,
  stopCommand,
  logsCommand,
  migrateCommand,
  importLegacyCommand,
  auditCommand,
  eventsCredentialsCommand,
];

export const ENVIRONMENT_HELP = [
  'environment:',
  '  LATCHKEY_HOME     data folder (default ./.latchkey); clients find connection.json there and use it',
  '                    only when it is yours with mode 0600',
  '  LATCHKEY_CONNECTION  a connection.json to use instead (named by you: not checked for owner and mode)',
  '  LATCHKEY_INSECURE 1: client verbs connect in plaintext (with a warning); never because a file says so',
  '  LATCHKEY_TOKEN    bearer token (a JWT) for client verbs (default: the identity of latchkey login,',
  '                    which latchkey up sets to the bootstrap admin when there is none)',
  '  up only: LATCHKEY_NATS_URL, LATCHKEY_NATS_PORT (7422), LATCHKEY_PG_PORT (7432),',
  '           LATCHKEY_RAS_PORT (7401), LATCHKEY_CATALOG_PORT (7402), LATCHKEY_RESOLVER_PORT (7403),',
  '           LATCHKEY_DEPLOYER_PORT (7404), LATCHKEY_GATEWAY_PORT (7405), LATCHKEY_HTTP_PORT (7480:',
  '           the HTTP API and console) (0 picks a free port), LATCHKEY_REPLICAS (1),',
  '           LATCHKEY_INSECURE (1: plaintext gRPC, for local debugging only; as up --insecure),',
  '           LATCHKEY_NATS_NODES (1), LATCHKEY_NATS_REPLICAS (latchkey up --help tells more)',
];

export function generalHelp(): string[] {
  const width = Math.max(...COMMANDS.map((c) => c.path.join(' ').length));
  return [
    'latchkey: the command line of Latchkey, a secrets control plane',
    '',
    'usage: latchkey <command> [options]   (latchkey <command> --help for details)',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    'Reads take --json for machine output. Secret values are read from stdin or --value-file, and Vault',
    'credentials from stdin or --credential-file, never from arguments.',
    '',
    ...ENVIRONMENT_HELP,
  ];
}

export function commandHelp(c: Command): string[] {
  return [`usage: ${c.usage}`, '', c.summary, ...(c.details === undefined ? [] : ['', ...c.details])];
}

/** Commands whose path starts with `prefix` (for `latchkey secret` without a verb). */
export function commandsUnder(prefix: string): Command[] {
  return COMMANDS.filter((c) => c.path.length > 1 && c.path[0] === prefix);
}

/** The command selected by the leading words of argv, and the rest. */
export function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | undefined {
  for (const c of COMMANDS) {
    if (c.path.every((w, i) => argv[i] === w)) return { command: c, rest: argv.slice(c.path.length) };
  }
  return undefined;
}
