import { RotateKekResponse } from '@latchkey/proto';
import { callOnce } from '../../client/client-context.js';
import { callCommand, JSON_OPTION } from '../command.js';

export const kekRotateCommand = callCommand({
  path: ['kek', 'rotate'],
  usage: 'latchkey kek rotate [--json]',
  summary: "rotate the key-encryption key: re-wrap every data key (values' ciphertext is untouched)",
  options: JSON_OPTION,
  call: (_args, io) => callOnce(io, 'catalog', (catalog) => catalog.rotateKek, {}),
  json: (res) => RotateKekResponse.toJSON(res),
  lines: (res) => [
    `new kek ${res.newKekId}; ${res.rewrapped} data ${res.rewrapped === 1 ? 'key' : 'keys'} re-wrapped`,
    ...(res.retiredKekIds.length > 0 ? [`retired: ${res.retiredKekIds.join(', ')}`] : []),
  ],
});
