import { InventoryResponse, type InventoryEntry } from '@latchkey/proto';
import { stringOption } from '../args-parser.js';
import { UsageError } from '../../output/cli-errors.js';
import { callOnce } from '../../client/client-context.js';
import { defineCommand, JSON_OPTION, stringOptions } from '../command.js';
import { describeScope, scopeFromArgs } from './scope-option.js';
import { printJson, printTable } from '../../output/table-format.js';

/** `-` without a policy; `90d, due since T` once the current version is due; else `90d, due T`. */
function rotationCell(e: InventoryEntry): string {
  const every = e.secret?.rotateEvery ?? '';
  if (every === '') return '-';
  return e.rotationDue ? `${every}, DUE since ${e.rotationDueAt}` : `${every}, due ${e.rotationDueAt}`;
}

export const inventoryCommand = defineCommand({
  path: ['inventory'],
  usage: 'latchkey inventory (--domain DOMAIN | --global) [--used-by KEY] [--json]',
  summary:
    'every secret with its version, last change, rotation policy and how many workloads use it; flags unused ones and those due for rotation',
  options: { ...stringOptions('domain', 'used-by'), global: { type: 'boolean' }, ...JSON_OPTION },
  async run({ parsed, json }, io) {
    const scope = scopeFromArgs(parsed);
    const usedByKey = stringOption(parsed, 'used-by') ?? '';
    if (parsed.values.has('used-by') && usedByKey === '') throw new UsageError('--used-by needs a KEY');
    const res = await callOnce(io, 'catalog', (catalog) => catalog.inventory, { scope, usedByKey });
    if (json) return printJson(io.out, InventoryResponse.toJSON(res));
    printTable(
      io.out,
      ['KEY', 'SOURCE', 'VERSION', 'UPDATED', 'BY', 'WORKLOADS', 'ROTATION'],
      res.entries.map((e) => [
        e.secret?.key ?? '',
        e.secret?.source ?? '',
        String(e.secret?.version ?? ''),
        e.secret?.updatedAt ?? '',
        e.secret?.updatedBy ?? '',
        e.unreferenced ? `${e.workloadCount} (unreferenced)` : String(e.workloadCount),
        rotationCell(e),
      ]),
    );
    const due = res.entries.filter((e) => e.rotationDue);
    if (usedByKey === '' && due.length > 0) {
      const names = due.slice(0, 10).map((e) => e.secret?.key ?? '');
      if (due.length > names.length) names.push(`and ${due.length - names.length} more`);
      io.out(
        `${due.length} of ${res.entries.length} secrets are due for rotation (${names.join(', ')}): put a new value with latchkey secret put KEY`,
      );
    }
    const unreferenced = res.entries.filter((e) => e.unreferenced).length;
    if (usedByKey !== '') {
      const entry = res.entries.find((e) => e.secret?.key === usedByKey);
      const workloads = entry?.workloads ?? [];
      if (entry === undefined) io.out(`${usedByKey}: not in ${describeScope(scope)}`);
      else if (workloads.length === 0) io.out(`no workload references ${usedByKey}`);
      else {
        io.out(`workloads that reference ${usedByKey}:`);
        for (const w of workloads) io.out(`  ${w}`);
      }
    } else if (unreferenced > 0) {
      io.out(`${unreferenced} of ${res.entries.length} secrets are referenced by no workload`);
    }
    return 0;
  },
});
