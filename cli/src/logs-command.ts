import { GetLogsResponse } from '@latchkey/proto';
import { booleanOption, parseArgs, requireOption, requirePositionals, stringOption } from './args-parser.js';
import { call, withClients } from './client-context.js';
import type { CliIo } from './cli-io.js';
import type { Command } from './command-types.js';
import { printJson } from './table-format.js';

export const logsCommand: Command = {
  path: ['logs'],
  usage: 'latchkey logs NAME --domain DOMAIN [--deployment ID] [--json]',
  summary: "print a workload's (redacted) output, from its last or a given deployment",
  options: { domain: { type: 'string' }, deployment: { type: 'string' }, json: { type: 'boolean' } },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    const [name = ''] = requirePositionals(parsed, ['NAME']);
    const domain = requireOption(parsed, 'domain');
    const deploymentId = stringOption(parsed, 'deployment') ?? '';
    const res = await withClients(io, (ctx) =>
      call(ctx, 'deployer', ctx.deployer().getLogs.bind(ctx.deployer()), { domain, name, deploymentId }),
    );
    if (booleanOption(parsed, 'json')) printJson(io.out, GetLogsResponse.toJSON(res));
    else for (const l of res.lines) io.out(l.line);
    return 0;
  },
};
