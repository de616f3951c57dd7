import { GetLogsResponse, type LogLine } from '@latchkey/proto';
import { booleanOption, parseArgs, requireOption, requirePositionals, stringOption } from './args-parser.js';
import { call, withClients } from './client-context.js';
import type { CliIo } from './cli-io.js';
import type { Command } from './command-types.js';
import { printJson } from './table-format.js';

/** How often `logs --follow` asks for new lines once it has printed all there were. */
export const FOLLOW_POLL_MS = 1000;

const droppedNotice = (n: number) =>
  `(${n} earlier line${n === 1 ? ' is' : 's are'} no longer kept: dropped by the output quota or past the retention)`;

export const logsCommand: Command = {
  path: ['logs'],
  usage: 'latchkey logs NAME --domain DOMAIN [--deployment ID] [--follow] [--json]',
  summary:
    "print a workload's (redacted) output, from its last or a given deployment, page by page; --follow prints new lines until the deployment ends",
  options: {
    domain: { type: 'string' },
    deployment: { type: 'string' },
    follow: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [name = ''] = requirePositionals(parsed, ['NAME']);
    const domain = requireOption(parsed, 'domain');
    const follow = booleanOption(parsed, 'follow');
    const json = booleanOption(parsed, 'json');
    await withClients(io, async (ctx) => {
      const getLogs = ctx.deployer().getLogs.bind(ctx.deployer());
      // Pinned after the first page: a later deployment must not switch the pages under a reader.
      let deploymentId = stringOption(parsed, 'deployment') ?? '';
      let pageToken = '';
      let droppedLines = 0;
      const collected: LogLine[] = [];
      for (;;) {
        const page = await call(ctx, 'deployer', getLogs, { domain, name, deploymentId, pageToken, pageSize: 0 });
        deploymentId = page.deploymentId;
        pageToken = page.nextPageToken;
        droppedLines += page.droppedLines;
        if (json && !follow) collected.push(...page.lines);
        else {
          if (page.droppedLines > 0 && !json) io.err(droppedNotice(page.droppedLines));
          for (const l of page.lines) io.out(json ? JSON.stringify(l) : l.line);
        }
        if (page.more) continue;
        if (!follow || page.ended) {
          if (json && !follow)
            printJson(
              io.out,
              GetLogsResponse.toJSON({
                ...page,
                lines: collected,
                droppedLines,
                more: false,
                nextPageToken: pageToken,
              }),
            );
          return;
        }
        await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
      }
    });
    return 0;
  },
};
