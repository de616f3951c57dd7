import { invoke, withClients } from '../../client/client-context.js';
import { printJson } from '../../output/table-format.js';
import { booleanOption, requireOption } from '../args-parser.js';
import { defineCommand, JSON_OPTION } from '../command.js';
import { planMigration, type MigrationPlan } from './migrate-plan.js';

/** The report, as --json prints it: names, paths and versions, never a value. */
function reportJson(domain: string, dryRun: boolean, plan: MigrationPlan, versions: Map<string, number>) {
  return {
    domain,
    dryRun,
    secrets: plan.secrets.map((s) => ({
      key: s.key,
      from: s.from,
      ...(s.renamed === undefined ? {} : { renamed: s.renamed }),
      ...(versions.has(s.key) ? { version: versions.get(s.key) } : {}),
    })),
    workloads: plan.workloads.map((w) => ({ name: w.name, moved: w.moved })),
    skipped: plan.skipped,
  };
}

export const migrateCommand = defineCommand({
  path: ['migrate'],
  usage: 'latchkey migrate --domain DOMAIN [--dry-run] [--json]',
  summary:
    "move the plaintext credentials in a domain's workload specs into managed secrets and reference them instead",
  details: [
    'Every literal that workload apply warns about as a credential (its JSON path and why) is put once per',
    'distinct value as a managed secret of the domain, named after its field (a name already in use gets',
    '_2, _3 ...), and each workload is applied again with references in place of its literals. Values are',
    'never printed. Running it again finds nothing more to move. --dry-run reports what it would do and',
    'changes nothing. Each put and apply is checked and audited like latchkey secret put and workload apply.',
  ],
  options: { domain: { type: 'string' }, 'dry-run': { type: 'boolean' }, ...JSON_OPTION },
  async run({ parsed, json }, io) {
    const domain = requireOption(parsed, 'domain');
    const dryRun = booleanOption(parsed, 'dry-run');
    return withClients(io, async (ctx) => {
      const { workloads } = await invoke(ctx, 'deployer', (d) => d.listWorkloads, { domain, stale: false });
      const { secrets } = await invoke(ctx, 'catalog', (c) => c.listSecrets, {
        scope: { domain, global: false },
        deleted: false,
      });
      const plan = planMigration(domain, workloads, new Set(secrets.map((s) => s.key)));
      const say = (line: string) => {
        if (!json) io.out(line);
      };
      const versions = new Map<string, number>();
      const would = dryRun ? 'would ' : '';
      if (plan.secrets.length === 0 && plan.skipped.length === 0) {
        say(`no plaintext credentials in the workloads of domain ${domain}: nothing to migrate`);
      } else if (dryRun) {
        say(`migrate domain ${domain} (dry run: nothing changed)`);
      }
      for (const s of plan.secrets) {
        if (!dryRun) {
          const value = Buffer.from(s.value, 'utf8');
          try {
            const meta = await invoke(ctx, 'catalog', (c) => c.putSecret, {
              scope: { domain, global: false },
              key: s.key,
              value,
              description: `moved by latchkey migrate from ${s.from.join(', ')}`.slice(0, 1000),
            });
            versions.set(s.key, meta.version);
          } finally {
            value.fill(0);
          }
        }
        const version = versions.has(s.key) ? ` version ${versions.get(s.key)}` : '';
        const renamed = s.renamed === undefined ? '' : `; ${s.renamed}`;
        say(`${would}put secret ${s.key}${version} in domain ${domain} (from ${s.from.join(', ')}${renamed})`);
      }
      const stillWarned: string[] = [];
      for (const w of plan.workloads) {
        if (!dryRun) {
          const applied = await invoke(ctx, 'deployer', (d) => d.applyWorkload, { domain, specJson: w.specJson });
          stillWarned.push(...applied.plaintextCredentials.map((f) => `${w.name} ${f.path}`));
        }
        say(`${would}update workload ${w.name}: ${w.moved.map((m) => `${m.path} -> ${m.key}`).join(', ')}`);
      }
      for (const s of plan.skipped) say(`not moved: ${s.workload} ${s.path}: ${s.why}`);
      for (const s of stillWarned) say(`still a plaintext credential after the update: ${s}`);
      if (json) printJson(io.out, reportJson(domain, dryRun, plan, versions));
      return 0;
    });
  },
});
