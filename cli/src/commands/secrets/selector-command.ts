import { SelectorResponse, type SelectorEntry, type SelectorSource } from '@latchkey/proto';
import { requireOption, stringOption } from '../args-parser.js';
import { UsageError } from '../../output/cli-errors.js';
import { invoke, withClients } from '../../client/client-context.js';
import { defineCommand, JSON_OPTION } from '../command.js';
import { printJson, printTable } from '../../output/table-format.js';

/** At most this many pages are followed, in case a service keeps returning a token. */
const MAX_PAGES = 10_000;

function pageSizeOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > 2_147_483_647) {
    throw new UsageError('--page-size must be a positive whole number');
  }
  return n;
}

function sourceCell(e: SelectorEntry): string {
  return e.sourceType === 'MANAGED' && e.sourceId !== '' ? `MANAGED:${e.sourceId}` : e.sourceType;
}

function backendCell(e: SelectorEntry): string {
  if (e.sourceType === 'VAULT') return e.integrationName === '' ? e.sourceId : `${e.integrationName} (${e.sourceId})`;
  return e.backend === '' ? '-' : e.backend;
}

export const secretSelectorCommand = defineCommand({
  path: ['secret', 'selector'],
  usage: 'latchkey secret selector --domain DOMAIN [--page-size N [--page-token T]] [--json]',
  summary: "every key a workload of the domain can reference: the domain's, global (read-only) and Vault keys",
  options: {
    domain: { type: 'string' },
    'page-size': { type: 'string' },
    'page-token': { type: 'string' },
    ...JSON_OPTION,
  },
  async run({ parsed, json }, io) {
    const domain = requireOption(parsed, 'domain');
    const pageSize = pageSizeOption(stringOption(parsed, 'page-size'));
    const firstToken = stringOption(parsed, 'page-token');
    if (firstToken !== undefined && pageSize === undefined) throw new UsageError('--page-token goes with --page-size');
    const entries: SelectorEntry[] = [];
    const sources = new Map<string, SelectorSource>();
    let nextPageToken = '';
    await withClients(io, async (ctx) => {
      let pageToken = firstToken ?? '';
      for (let page = 0; page < MAX_PAGES; page++) {
        const res = await invoke(ctx, 'catalog', (catalog) => catalog.selector, {
          domain,
          pageSize: pageSize ?? 0,
          pageToken,
        });
        entries.push(...res.entries);
        for (const s of res.sources) {
          const known = sources.get(s.source);
          if (known === undefined || (known.available && !s.available)) sources.set(s.source, s);
        }
        nextPageToken = res.nextPageToken;
        if (pageSize !== undefined || nextPageToken === '' || nextPageToken === pageToken) break;
        pageToken = nextPageToken;
      }
    });
    if (json) {
      return printJson(
        io.out,
        SelectorResponse.toJSON({
          entries,
          sources: [...sources.values()],
          nextPageToken: pageSize === undefined ? '' : nextPageToken,
        }),
      );
    }
    printTable(
      io.out,
      ['KEY', 'SOURCE', 'BACKEND/INTEGRATION', 'READ-ONLY'],
      entries.map((e) => [e.key, sourceCell(e), backendCell(e), e.readOnly ? 'yes' : 'no']),
    );
    for (const s of sources.values()) {
      if (!s.available) io.out(`unavailable: ${s.source}: ${s.reason === '' ? 'no reason given' : s.reason}`);
    }
    if (pageSize !== undefined && nextPageToken !== '') io.out(`more: --page-token ${nextPageToken}`);
    return 0;
  },
});
