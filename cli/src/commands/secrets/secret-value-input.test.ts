import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../../output/cli-errors.js';
import { fakeIo } from '../../testing/fake-io.js';
import { readSecretValue, refuseValueOnCommandLine, stripOneNewline } from './secret-value-input.js';

test('strips exactly one trailing newline', () => {
  assert.equal(stripOneNewline(Buffer.from('pw\n')).toString(), 'pw');
  assert.equal(stripOneNewline(Buffer.from('pw\n\n')).toString(), 'pw\n');
  assert.equal(stripOneNewline(Buffer.from('pw')).toString(), 'pw');
  assert.equal(stripOneNewline(Buffer.from('pw\r\n')).toString(), 'pw\r');
});

test('reads the whole of stdin, binary-safe, minus one newline', async () => {
  const value = await readSecretValue(fakeIo({ stdin: Buffer.from([0, 1, 255, 10, 10]) }).stdin, undefined);
  assert.deepEqual([...value], [0, 1, 255, 10]);
});

test('reads --value-file instead of stdin', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'latchkey-cli-'));
  const file = path.join(dir, 'v');
  await writeFile(file, 'from-file\n');
  const value = await readSecretValue(fakeIo({ stdin: 'ignored', tty: true }).stdin, file);
  assert.equal(value.toString(), 'from-file');
  await assert.rejects(readSecretValue(fakeIo().stdin, path.join(dir, 'missing')), /cannot read --value-file/);
});

test('refuses a terminal on stdin and says how to pass the value', async () => {
  await assert.rejects(readSecretValue(fakeIo({ tty: true }).stdin, undefined), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /terminal/);
    assert.match(e.message, /--value-file/);
    return true;
  });
});

test('refuses an empty value', async () => {
  await assert.rejects(readSecretValue(fakeIo({ stdin: '\n' }).stdin, undefined), /empty/);
});

test('refuses --value in any form without echoing it', () => {
  for (const argv of [
    ['K', '--value', 's3cr3t'],
    ['--value=s3cr3t', 'K'],
  ]) {
    assert.throws(
      () => refuseValueOnCommandLine(argv),
      (e: unknown) =>
        e instanceof UsageError && /never go on the command line/.test(e.message) && !e.message.includes('s3cr3t'),
    );
  }
  assert.doesNotThrow(() => refuseValueOnCommandLine(['K', '--value-file', 'f', '--domain', 'd']));
});
