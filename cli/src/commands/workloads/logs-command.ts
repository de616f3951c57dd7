import { GetLogsResponse, type GetLogsRequest, type LogLine } from '@latchkey/proto';
import { booleanOption, requireOption, stringOption } from '../args-parser.js';
import { invoke, withClients } from '../../client/client-context.js';
import type { CliIo } from '../../output/cli-io.js';
import { defineCommand, JSON_OPTION, stringOptions } from '../command.js';
import { printJson } from '../../output/table-format.js';

/** How often `logs --follow` asks for new lines once it has printed all there were. */
export const FOLLOW_POLL_MS = 1000;

const droppedNotice = (n: number) =>
  `(${n} earlier line${n === 1 ? ' is' : 's are'} no longer kept: dropped by the output quota or past the retention)`;

export interface PrintLogsOptions {
  domain: string;
  name: string;
  /** Empty: the workload's last deployment (then pinned to it for every later page). */
  deploymentId: string;
  follow: boolean;
  json: boolean;
  /** Waits between polls of --follow (tests pass their own). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Prints a deployment's output page by page (each page one call, so that no
 * answer outgrows a gRPC message); with `follow`, keeps asking for the lines
 * after the last one until the deployment has ended. `--json` prints one
 * document (or, following, one JSON line per output line).
 */
export async function printLogs(
  getPage: (req: GetLogsRequest) => Promise<GetLogsResponse>,
  opts: PrintLogsOptions,
  io: CliIo,
): Promise<void> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let { deploymentId } = opts;
  let pageToken = '';
  let droppedLines = 0;
  const collected: LogLine[] = [];
  const oneDocument = opts.json && !opts.follow;
  for (;;) {
    const page = await getPage({ domain: opts.domain, name: opts.name, deploymentId, pageToken, pageSize: 0 });
    deploymentId = page.deploymentId;
    pageToken = page.nextPageToken;
    droppedLines += page.droppedLines;
    if (oneDocument) collected.push(...page.lines);
    else {
      if (page.droppedLines > 0 && !opts.json) io.err(droppedNotice(page.droppedLines));
      for (const l of page.lines) io.out(opts.json ? JSON.stringify(logLineJson(l)) : l.line);
    }
    if (page.more) continue;
    if (!opts.follow || page.ended) {
      if (oneDocument)
        printJson(
          io.out,
          GetLogsResponse.toJSON({ ...page, lines: collected, droppedLines, more: false, nextPageToken: pageToken }),
        );
      return;
    }
    await sleep(FOLLOW_POLL_MS);
  }
}

const logLineJson = (l: LogLine) => ({ seq: l.seq, stream: l.stream, line: l.line, at: l.at });

export const logsCommand = defineCommand({
  path: ['logs'],
  usage: 'latchkey logs NAME --domain DOMAIN [--deployment ID] [--follow] [--json]',
  summary:
    "print a workload's (redacted) output, from its last or a given deployment; --follow prints new lines until the deployment ends",
  options: { ...stringOptions('domain', 'deployment'), follow: { type: 'boolean' }, ...JSON_OPTION },
  positionals: ['NAME'],
  async run({ parsed, positionals: [name = ''], json }, io) {
    const opts: PrintLogsOptions = {
      domain: requireOption(parsed, 'domain'),
      name,
      deploymentId: stringOption(parsed, 'deployment') ?? '',
      follow: booleanOption(parsed, 'follow'),
      json,
    };
    await withClients(io, (ctx) =>
      printLogs((req) => invoke(ctx, 'deployer', (deployer) => deployer.getLogs, req), opts, io),
    );
    return 0;
  },
});
