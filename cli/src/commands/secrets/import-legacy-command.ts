import { readFile } from 'node:fs/promises';
import { LatchkeyError, isLatchkeyError } from '@latchkey/errors';
import type { PutSecretRequest } from '@latchkey/proto';
import { invoke, withClients, type ClientContext } from '../../client/client-context.js';
import { UsageError } from '../../output/cli-errors.js';
import { printableValue } from '../../output/terminal-text.js';
import { printJson } from '../../output/table-format.js';
import { booleanOption, requireOption, stringOption, type ParsedArgs } from '../args-parser.js';
import { defineCommand, stringOptions } from '../command.js';
import { readCredential, refuseCredentialOnCommandLine } from '../vault/credential-input.js';
import { writeOnlyInputReader } from './secret-value-input.js';
import { DEFAULT_TABLE, KEY_COLUMNS, VALUE_COLUMNS, databaseStore } from './legacy-database-store.js';
import { planLegacyImport, type PlannedImport } from './legacy-import-plan.js';
import { DEFAULT_SECRET_NAME, kubernetesStore } from './legacy-kubernetes-store.js';
import type { LegacyStore } from './legacy-store.js';
import { vaultStore } from './legacy-vault-store.js';

const GLOBAL = { domain: '', global: true } as const;
const booleanOptions = (...names: string[]) => Object.fromEntries(names.map((n) => [n, { type: 'boolean' } as const]));
const STORES = ['database', 'kubernetes', 'vault'] as const;
type StoreKind = (typeof STORES)[number];

/** The legacy database's password, from --credential-file or stdin (--credential-stdin). */
const readDatabasePassword = writeOnlyInputReader({
  what: 'database password',
  pipeExample: 'printf %s "$PGPASSWORD" | latchkey import-legacy --from database ... --credential-stdin',
  codeStem: 'credential',
});

/** The options of each --from; any other store's option is refused. */
const STORE_OPTIONS: Record<StoreKind, readonly string[]> = {
  database: ['url', 'table', 'credential-file', 'credential-stdin'],
  kubernetes: ['kubeconfig', 'namespace', 'secret-name'],
  vault: ['host', 'path', 'namespace', 'ca-file', 'credential-file'],
};

/** A catalog refusal that stops the whole run (it would refuse every key), as opposed to one key's. */
const stopsTheRun = (err: unknown) =>
  !isLatchkeyError(err) || !['invalid_argument', 'failed_precondition', 'already_exists'].includes(err.kind);

/** A key from the legacy store, printable on one line (an invalid one may hold anything). */
const shown = (key: string) => {
  const short = key.length > 80 ? `${key.slice(0, 80)}...` : key;
  return /^[A-Za-z0-9._/-]+$/.test(short) ? short : printableValue(JSON.stringify(short));
};

async function openStore(
  from: StoreKind,
  parsed: ParsedArgs,
  io: { stdin: NodeJS.ReadableStream & { isTTY?: boolean } },
): Promise<{ store: LegacyStore; credential?: Buffer }> {
  for (const kind of STORES) {
    const foreign = STORE_OPTIONS[kind].find((o) => !STORE_OPTIONS[from].includes(o) && parsed.values.has(o));
    if (foreign !== undefined) throw new UsageError(`--${foreign} is for --from ${kind}, not --from ${from}`);
  }
  if (from === 'kubernetes') {
    const kubeconfig = stringOption(parsed, 'kubeconfig');
    const namespace = stringOption(parsed, 'namespace');
    const secretName = stringOption(parsed, 'secret-name');
    return {
      store: await kubernetesStore({
        ...(kubeconfig === undefined ? {} : { kubeconfig }),
        ...(namespace === undefined ? {} : { namespace }),
        ...(secretName === undefined ? {} : { secretName }),
      }),
    };
  }
  if (from === 'database') {
    const url = requireOption(parsed, 'url');
    const table = stringOption(parsed, 'table');
    const file = stringOption(parsed, 'credential-file');
    if (file !== undefined && booleanOption(parsed, 'credential-stdin')) {
      throw new UsageError('give the password either with --credential-file or --credential-stdin, not both');
    }
    // No password unless one is asked for: pg then uses PGPASSWORD or ~/.pgpass, or none (trust, peer).
    const credential =
      file !== undefined || booleanOption(parsed, 'credential-stdin')
        ? await readDatabasePassword(io.stdin, file)
        : undefined;
    const store = databaseStore({
      url,
      ...(table === undefined ? {} : { table }),
      ...(credential ? { password: credential } : {}),
    });
    return { store, ...(credential ? { credential } : {}) };
  }
  const host = requireOption(parsed, 'host');
  const path = requireOption(parsed, 'path');
  const namespace = stringOption(parsed, 'namespace');
  const caFile = stringOption(parsed, 'ca-file');
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    ca = await readFile(caFile).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read --ca-file ${caFile} (${err.code ?? 'unreadable'})`);
    });
  }
  const token = await readCredential(io.stdin, stringOption(parsed, 'credential-file'));
  const store = vaultStore({
    host,
    path,
    token,
    ...(namespace === undefined ? {} : { namespace }),
    ...(ca ? { ca } : {}),
  });
  return { store, credential: token };
}

/** The global scope's present and deleted keys, as the caller may see them (ras decides). */
async function globalKeys(ctx: ClientContext) {
  const present = await invoke(ctx, 'catalog', (c) => c.listSecrets, { scope: GLOBAL, deleted: false });
  const deleted = await invoke(ctx, 'catalog', (c) => c.listSecrets, { scope: GLOBAL, deleted: true });
  return {
    present: new Map(present.secrets.map((s) => [s.key, s.version])),
    deleted: new Map(deleted.secrets.map((s) => [s.key, s.recoverUntil])),
  };
}

interface Result {
  key: string;
  outcome: PlannedImport['outcome'];
  why?: string;
  version?: number;
}

function line(r: Result, dryRun: boolean): string {
  const k = shown(r.key);
  const why = r.why === undefined ? '' : ` (${r.why})`;
  switch (r.outcome) {
    case 'new':
    case 'new_version': {
      const what = r.outcome === 'new' ? 'new' : 'new version';
      return dryRun ? `would import ${k}: ${what}${why}` : `imported ${k}: version ${r.version ?? '?'}, ${what}${why}`;
    }
    case 'exists':
      return `left alone ${k}${why}`;
    case 'skipped':
      return `not imported ${k}: ${r.why ?? ''}`;
  }
}

export const importLegacyCommand = defineCommand({
  path: ['import-legacy'],
  usage:
    'latchkey import-legacy --from database|kubernetes|vault [store options] [--dry-run] [--update-existing] [--json]\n' +
    `  --from database   --url postgres://USER@HOST:5432/DB [--table [SCHEMA.]NAME (${DEFAULT_TABLE})] [--credential-file FILE | --credential-stdin]\n` +
    `  --from kubernetes [--kubeconfig FILE] [--namespace NS] [--secret-name NAME (${DEFAULT_SECRET_NAME})]\n` +
    '  --from vault      --host URL --path /v1/MOUNT/data/BASE [--namespace NS] [--ca-file FILE] [--credential-file FILE]  (the token on stdin, or in the file)',
  summary:
    'import the secrets of a V1 secret store (database table, Kubernetes Secret or Vault path) into global scope',
  details: [
    'Reads the whole legacy store first (nothing changes when it cannot be read), then puts each key as a managed',
    'secret in global scope, as you: ras decides (without the right to manage global secrets nothing is imported).',
    `database: the table's key column is the first of ${KEY_COLUMNS.join(', ')} it has, its value column the first of`,
    `${VALUE_COLUMNS.join(', ')} (text or bytea); read in a READ ONLY transaction. The password is never in --url.`,
    `kubernetes: each data key of the Secret (default ${DEFAULT_SECRET_NAME}) is a key; namespace default: the context's.`,
    'vault: each key directly under the KV v2 path, its field "value" (V1\'s layout); folders are reported, not read.',
    'A key already in global scope is left alone (--update-existing puts the legacy value as a new version of it).',
    'Keys that are no valid secret keys, empty or too short values, keys held twice and deleted keys still in their',
    'recovery window are reported with the reason and not imported. --dry-run lists what would happen and changes',
    'nothing. Running it again imports nothing new. Values are never printed. Each put is audited like secret put.',
  ],
  options: {
    ...stringOptions('from', 'url', 'table', 'kubeconfig', 'namespace', 'secret-name'),
    ...stringOptions('host', 'path', 'ca-file', 'credential-file'),
    ...booleanOptions('credential-stdin', 'dry-run', 'update-existing', 'json'),
  },
  before: refuseCredentialOnCommandLine,
  async run({ parsed, json }, io) {
    const from = requireOption(parsed, 'from');
    if (!(STORES as readonly string[]).includes(from)) {
      throw new UsageError(`--from must be database, kubernetes or vault, not ${JSON.stringify(from)}`);
    }
    const dryRun = booleanOption(parsed, 'dry-run');
    const updateExisting = booleanOption(parsed, 'update-existing');
    const { store, credential } = await openStore(from as StoreKind, parsed, io);
    const { MIN_REDACTABLE_BYTES } = await import('@latchkey/logger');
    try {
      return await withClients(io, async (ctx) => {
        const known = await globalKeys(ctx).catch((err: unknown) => {
          throw isLatchkeyError(err)
            ? new LatchkeyError(err.code, `${err.message}; nothing was imported`, { kind: err.kind })
            : err;
        });
        const read = await store.read();
        credential?.fill(0);
        try {
          const plan = planLegacyImport(read, known, { updateExisting, minValueBytes: MIN_REDACTABLE_BYTES });
          const say = (l: string) => {
            if (!json) io.out(l);
          };
          say(
            `import from the legacy ${store.kind} store (${store.label}) into global scope${dryRun ? ' (dry run: nothing changed)' : ''}`,
          );
          const results: Result[] = [];
          let imported = 0;
          for (const p of plan) {
            const result: Result = { key: p.key, outcome: p.outcome, ...(p.why === undefined ? {} : { why: p.why }) };
            if (!dryRun && p.value !== undefined) {
              const req: PutSecretRequest = {
                scope: GLOBAL,
                key: p.key,
                value: p.value,
                description: `imported by latchkey import-legacy from the ${store.kind} store ${store.label}`.slice(
                  0,
                  1000,
                ),
              };
              try {
                result.version = (await invoke(ctx, 'catalog', (c) => c.putSecret, req)).version;
                imported++;
              } catch (err) {
                if (stopsTheRun(err)) {
                  const msg = isLatchkeyError(err) ? err.message : (err as Error).message;
                  const done =
                    imported === 0
                      ? 'nothing was imported'
                      : `${imported} key(s) were imported before it (listed above); running it again imports the rest`;
                  for (const r of results) say(line(r, false));
                  throw new LatchkeyError(
                    isLatchkeyError(err) ? err.code : 'cli.import_stopped',
                    `the import stopped at key ${shown(p.key)}: ${msg}; ${done}`,
                    {
                      kind: isLatchkeyError(err) ? err.kind : 'internal',
                    },
                  );
                }
                // This key's own refusal (too large for the backend, deleted meanwhile): reported, the rest goes on.
                result.outcome = 'skipped';
                result.why = `the catalog refused it: ${isLatchkeyError(err) ? `${err.message} (${err.code})` : 'unknown error'}`;
              }
            }
            results.push(result);
          }
          for (const r of results) say(line(r, dryRun));
          const count = (o: Result['outcome']) => results.filter((r) => r.outcome === o).length;
          const would = dryRun ? 'would be ' : '';
          say(
            results.length === 0
              ? 'the legacy store holds no secrets: nothing to import'
              : `${results.length} found: ${count('new') + count('new_version')} ${would}imported (${count('new_version')} as new versions), ${count('exists')} left alone, ${count('skipped')} not importable`,
          );
          if (json) {
            printJson(io.out, {
              from: store.kind,
              store: store.label,
              scope: 'global',
              dryRun,
              keys: results.map((r) => ({ ...r, done: !dryRun && r.version !== undefined })),
            });
          }
          return 0;
        } finally {
          for (const e of read.entries) e.value.fill(0);
        }
      });
    } finally {
      credential?.fill(0);
    }
  },
});
