import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { listOption, requireOption, stringOption } from '../args-parser.js';
import { CliError, UsageError } from '../../output/cli-errors.js';
import { callOnce } from '../../client/client-context.js';
import { defineCommand, JSON_OPTION } from '../command.js';
import { printJson } from '../../output/table-format.js';

function daysOption(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 3650) {
    throw new UsageError('--days must be a whole number of days from 1 to 3650 (default 90)');
  }
  return Number(value);
}

/**
 * `latchkey events credentials`: NATS credentials for an event subscriber
 * outside Latchkey, written to a 0600 file and never printed. ras decides:
 * the caller must own every domain named (or be a platform admin).
 */
export const eventsCredentialsCommand = defineCommand({
  path: ['events', 'credentials'],
  usage:
    'latchkey events credentials --domain DOMAIN [--domain DOMAIN2 ...] --name NAME --out FILE [--days N] [--json]',
  summary:
    "NATS credentials for an outside subscriber (redeploy trigger, alerting hook): it may only subscribe to the domains' public events",
  options: {
    domain: { type: 'string', repeatable: true },
    name: { type: 'string' },
    out: { type: 'string' },
    days: { type: 'string' },
    ...JSON_OPTION,
  },
  async run({ parsed, json }, io) {
    const domains = listOption(parsed, 'domain');
    if (domains.length === 0) throw new UsageError('--domain is required: the domain whose events the subscriber gets');
    const name = requireOption(parsed, 'name');
    const out = path.resolve(io.cwd, requireOption(parsed, 'out'));
    const ttlDays = daysOption(stringOption(parsed, 'days'));
    const minted = await callOnce(io, 'ras', (ras) => ras.mintEventCredentials, { domains, name, ttlDays });
    try {
      await writeFile(out, minted.creds, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError(
        code === 'EEXIST'
          ? `${out} exists: choose another --out (credentials are never written over a file)`
          : `cannot write ${out} (${code ?? (err as Error).message}): choose a writable --out`,
        { code: 'cli.cannot_write' },
      );
    }
    if (json) {
      return printJson(io.out, {
        file: out,
        user: minted.user,
        expiresAt: minted.expiresAt,
        subjects: minted.subjects,
      });
    }
    io.out(`wrote NATS credentials for subscriber ${name} to ${out} (mode 0600; keep it secret)`);
    io.out(`  valid until ${minted.expiresAt}; it may subscribe (core NATS, over TLS) to:`);
    for (const s of minted.subjects) io.out(`    ${s}`);
    return 0;
  },
});
