import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import { createLogger } from './logger.js';
import { REDACTED, Redactor, StreamRedactor, valueForms } from './redactor.js';

// Multi-byte characters, and characters that base64 and URL encoding change.
const VALUE = 'pä$$wörd/+=?&~🔑';

/** What a workload's stream becomes: bytes decoded as the runtime does, split into `parts`, redacted by line. */
function throughStream(redactor: Redactor, parts: Buffer[]): string {
  const lines: string[] = [];
  const stream = new StreamRedactor(redactor, (l) => lines.push(l));
  const decoder = new StringDecoder('utf8');
  for (const p of parts) stream.write(decoder.write(p));
  stream.write(decoder.end());
  stream.end();
  return lines.join('\n');
}

test('the masked forms are the value, its base64 (padded, unpadded, url-safe), hex (both cases) and URL encoding', () => {
  const bytes = Buffer.from(VALUE, 'utf8');
  const forms = valueForms(VALUE);
  for (const f of [
    VALUE,
    bytes.toString('base64'),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    encodeURIComponent(VALUE),
  ])
    assert.ok(forms.includes(f), f);
});

test('each encoded form is masked when a write boundary falls at any byte position', () => {
  const redactor = new Redactor();
  redactor.add([VALUE]);
  for (const form of valueForms(VALUE)) {
    const bytes = Buffer.from(`token=${form} (ok)\nnext line\n`, 'utf8');
    for (let i = 0; i <= bytes.length; i++) {
      const out = throughStream(redactor, [bytes.subarray(0, i), bytes.subarray(i)]);
      assert.equal(out, `token=${REDACTED} (ok)\nnext line`, `form ${form} split at byte ${i}`);
    }
  }
});

test('each encoded form is masked when every byte is its own write', () => {
  const redactor = new Redactor();
  redactor.add([VALUE]);
  for (const form of valueForms(VALUE)) {
    const bytes = Buffer.from(`${form}${form}\n`, 'utf8');
    const parts = [...bytes].map((b) => Buffer.from([b]));
    assert.equal(throughStream(redactor, parts), `${REDACTED}${REDACTED}`, form);
  }
});

test('a value removed by every deployment that held it is no longer masked; one still held is', () => {
  const redactor = new Redactor();
  redactor.add(['first-secret', 'shared-secret']);
  redactor.add(['shared-secret']);
  redactor.remove(['first-secret', 'shared-secret']);
  assert.equal(redactor.redact('first-secret shared-secret'), `first-secret ${REDACTED}`);
});

test('a service logger with the redactor masks a held value in any field and in the message', () => {
  const redactor = new Redactor();
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ service: 't', destination, redactor });
  redactor.add([VALUE]);
  logger.info(`oops ${VALUE}`, { url: `https://x/?p=${encodeURIComponent(VALUE)}`, nested: { v: VALUE } });
  logger.warn('encoded', { b64: Buffer.from(VALUE).toString('base64') });
  const text = lines.join('');
  assert.equal(lines.length, 2);
  for (const form of valueForms(VALUE)) assert.ok(!text.includes(form), `form ${form} leaked`);
  assert.ok(!text.includes(JSON.stringify(VALUE).slice(1, -1)), 'the JSON-escaped value leaked');
  assert.ok(text.includes(REDACTED));
});

test('a value holding a quote, a backslash or a line break is masked in a log line, where JSON escapes it', () => {
  const value = 'ab"cd\\ef\ngh\u0001';
  const redactor = new Redactor();
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ service: 't', destination, redactor });
  redactor.add([value]);
  logger.warn('escaped', { v: value, msg2: `x ${value} y` });
  const text = lines.join('');
  assert.ok(!text.includes(JSON.stringify(value).slice(1, -1)), text);
  assert.equal(text.split(REDACTED).length - 1, 2);
});

test('values shorter than 4 bytes are not masked (they would mangle ordinary text)', () => {
  const redactor = new Redactor();
  redactor.add(['abc', 'ä!', 'long-enough']);
  assert.equal(redactor.redact('abc ä! long-enough'), `abc ä! ${REDACTED}`);
  redactor.remove(['abc']);
  assert.equal(redactor.size > 0, true);
});
