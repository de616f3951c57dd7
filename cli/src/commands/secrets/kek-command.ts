import { RotateKekResponse } from '@latchkey/proto';
import { callOnce } from '../../client/client-context.js';
import { printJson } from '../../output/table-format.js';
import { defineCommand, JSON_OPTION } from '../command.js';

export const kekRotateCommand = defineCommand({
  path: ['kek', 'rotate'],
  usage: 'latchkey kek rotate [--json]',
  summary: "rotate the key-encryption key: re-wrap every data key (values' ciphertext is untouched)",
  options: JSON_OPTION,
  async run({ json }, io) {
    const res = await callOnce(io, 'catalog', (catalog) => catalog.rotateKek, {});
    if (json) return printJson(io.out, RotateKekResponse.toJSON(res));
    io.out(`new kek ${res.newKekId}; ${res.rewrapped} data ${res.rewrapped === 1 ? 'key' : 'keys'} re-wrapped`);
    if (res.retiredKekIds.length > 0) io.out(`retired: ${res.retiredKekIds.join(', ')}`);
    return 0;
  },
});
