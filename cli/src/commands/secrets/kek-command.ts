import { RotateKekResponse } from '@latchkey/proto';
import { booleanOption, parseArgs, requirePositionals } from '../args-parser.js';
import { call, withClients } from '../../client/client-context.js';
import type { CliIo } from '../../output/cli-io.js';
import type { Command } from '../command.js';
import { printJson } from '../../output/table-format.js';

export const kekRotateCommand: Command = {
  path: ['kek', 'rotate'],
  usage: 'latchkey kek rotate [--json]',
  summary: "rotate the key-encryption key: re-wrap every data key (values' ciphertext is untouched)",
  options: { json: { type: 'boolean' } },
  async run(argv: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArgs(argv, this.options);
    requirePositionals(parsed, []);
    const res = await withClients(io, (ctx) => call(ctx, 'catalog', ctx.catalog().rotateKek.bind(ctx.catalog()), {}));
    if (booleanOption(parsed, 'json')) {
      printJson(io.out, RotateKekResponse.toJSON(res));
      return 0;
    }
    io.out(`new kek ${res.newKekId}; ${res.rewrapped} data ${res.rewrapped === 1 ? 'key' : 'keys'} re-wrapped`);
    if (res.retiredKekIds.length > 0) io.out(`retired: ${res.retiredKekIds.join(', ')}`);
    return 0;
  },
};
