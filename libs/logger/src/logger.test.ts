import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from './logger.js';

function loggerInto(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger({ service: 't', destination }) };
}

test('an error that is not a LatchkeyError is logged by name and code only: its message may quote a value', () => {
  const canary = 'canary-9f2c1e';
  const { lines, logger } = loggerInto();
  let parseError: unknown;
  try {
    JSON.parse(canary); // Node quotes the text it could not parse
  } catch (e) {
    parseError = e;
  }
  assert.ok(parseError instanceof SyntaxError);
  logger.warn('handler failed', { err: parseError });
  const line = JSON.parse(lines.join('')) as { err: { name: string; message: string } };
  assert.equal(line.err.name, 'SyntaxError');
  assert.doesNotMatch(lines.join(''), new RegExp(canary));
});

test("a LatchkeyError's message and a system call's message are kept, with their codes", () => {
  const { lines, logger } = loggerInto();
  const latchkey = Object.assign(new Error('secret db_password not found in domain analytics'), {
    name: 'LatchkeyError',
    code: 'secret.not_found',
  });
  const system = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4222'), {
    code: 'ECONNREFUSED',
    syscall: 'connect',
  });
  logger.warn('a', { err: latchkey });
  logger.warn('b', { err: system });
  const [a, b] = lines.map((l) => JSON.parse(l) as { err: { message: string; code: string } });
  assert.equal(a!.err.message, latchkey.message);
  assert.equal(a!.err.code, 'secret.not_found');
  assert.equal(b!.err.message, system.message);
  assert.equal(b!.err.code, 'ECONNREFUSED');
});
