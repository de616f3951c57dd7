import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import { createLogger } from './logger.js';
import { DEFAULT_MAX_LINE_BYTES, maskKeyValues, REDACTED, Redactor, StreamRedactor, valueForms } from './redactor.js';

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

/** A service logger with `redactor` whose lines are kept in `lines`. */
function loggerInto(redactor: Redactor): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, logger: createLogger({ service: 't', destination, redactor }) };
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

test('two values that share a form (a line of two PEM keys): removing one keeps the other masked whole', () => {
  const redactor = new Redactor();
  const a = 'BEGIN-KEY\nshared-middle-line\nEND-A';
  const b = 'BEGIN-KEY\nshared-middle-line\nEND-B';
  redactor.add([a, b]);
  redactor.remove([a, 'never-added-value']);
  assert.equal(redactor.redact('shared-middle-line END-A END-B'), `${REDACTED} END-A ${REDACTED}`);
  redactor.remove([b]);
  assert.equal(redactor.size, 0);
});

test('a service logger with the redactor masks a held value in any field and in the message', () => {
  const redactor = new Redactor();
  const { lines, logger } = loggerInto(redactor);
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
  const { lines, logger } = loggerInto(redactor);
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

/** `text` written through a stream split at each byte position in turn: every result. */
function everySplit(redactor: Redactor, text: string): { at: number; out: string }[] {
  const bytes = Buffer.from(`${text}\n`, 'utf8');
  const results: { at: number; out: string }[] = [];
  for (let i = 0; i <= bytes.length; i++)
    results.push({ at: i, out: throughStream(redactor, [bytes.subarray(0, i), bytes.subarray(i)]) });
  return results;
}

/**
 * How many base64 characters of `encoded` (the base64 of `prefix` + value of
 * `valueBytes` bytes + more) stay visible in `out` that carry any bit of the
 * value; fails unless `out` is `encoded` with one stretch replaced by REDACTED.
 */
function visibleValueChars(out: string, encoded: string, prefixBytes: number, valueBytes: number): number {
  const at = out.indexOf(REDACTED);
  assert.ok(at >= 0, `nothing masked in ${out}`);
  const tail = out.length - at - REDACTED.length;
  assert.equal(out.slice(0, at), encoded.slice(0, at));
  assert.equal(out.slice(at + REDACTED.length), encoded.slice(encoded.length - tail));
  let visible = 0;
  const carriesValue = (i: number) => 6 * i + 6 > 8 * prefixBytes && 6 * i < 8 * (prefixBytes + valueBytes);
  for (let i = 0; i < at; i++) if (carriesValue(i)) visible++;
  for (let i = encoded.length - tail; i < encoded.length; i++) if (carriesValue(i)) visible++;
  return visible;
}

test('a value inside a longer base64 text (HTTP Basic user:pass) is masked at each of the three byte alignments, split at any byte', () => {
  const redactor = new Redactor();
  redactor.add([VALUE]);
  const valueBytes = Buffer.byteLength(VALUE, 'utf8');
  for (const user of ['', 'a', 'ab', 'bob', 'carol', 'dave55']) {
    for (const after of ['', '@db.internal:5432']) {
      const prefix = user === '' ? '' : `${user}:`;
      for (const encode of ['base64', 'base64url'] as const) {
        const encoded = Buffer.from(`${prefix}${VALUE}${after}`, 'utf8').toString(encode);
        for (const { at, out } of everySplit(redactor, `Authorization: Basic ${encoded}`)) {
          const shown = out.slice('Authorization: Basic '.length);
          const visible = visibleValueChars(shown, encoded, Buffer.byteLength(prefix), valueBytes);
          // At most the character it shares with the bytes before it and the one after it.
          assert.ok(
            visible <= 2,
            `${encode} of ${prefix}…${after}, split at ${at}: ${visible} characters of the value shown`,
          );
        }
      }
    }
  }
});

test('a value URL-encoded or JSON-escaped inside a longer string is masked, in every common encoding, split at any byte', () => {
  const value = 'p ä/"\\?&=+é🔑x';
  const redactor = new Redactor();
  redactor.add([value]);
  const lowerEscapes = (s: string) => s.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
  const formBody = new URLSearchParams({ pw: value }).toString().slice(3);
  const jsonInside = JSON.stringify(value).slice(1, -1);
  // Python's json.dumps: every non-ASCII character as a \\u escape.
  const asciiJson = jsonInside.replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  const cases: [string, string, string][] = [
    ['GET https://h.example/cb?user=bob&pw=', encodeURIComponent(value), '&x=1'],
    ['POST body: user=bob&pw=', formBody, '&x=1'],
    ['lowercase: a=', lowerEscapes(encodeURIComponent(value)), '&b=2'],
    ['lowercase form: a=', lowerEscapes(formBody), '&b=2'],
    ['sent {"user":"bob","pw":"', jsonInside, '","n":1}'],
    ['sent {"pw": "', asciiJson, '", "n": 1}'],
  ];
  for (const [before, encoded, after] of cases) {
    assert.ok(!encoded.includes(value), encoded);
    for (const { at, out } of everySplit(redactor, `${before}${encoded}${after}`))
      assert.equal(out, `${before}${REDACTED}${after}`, `${encoded} split at byte ${at}`);
  }
});

/** After each write, how many lines the stream had reported. */
function linesAfterEachWrite(redactor: Redactor, writes: string[]): number[] {
  let lines = 0;
  const stream = new StreamRedactor(redactor, () => lines++);
  return writes.map((w) => {
    stream.write(w);
    return lines;
  });
}

test('when a line is reported does not depend on whether the output resembles a held value (a PEM key cannot be read out by timing)', () => {
  const pem =
    '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----';
  const redactor = new Redactor();
  redactor.add([pem]);
  const [header, second] = pem.split('\n') as [string, string];
  // Output whose tail is a prefix of the value, and the same with a wrong character, byte for byte in the same writes.
  for (const guessed of [second.slice(0, 1), second.slice(0, 10), second.slice(0, -1)]) {
    const wrong = `${guessed.slice(0, -1)}${guessed.endsWith('Z') ? 'Y' : 'Z'}`;
    const right = linesAfterEachWrite(redactor, ['start\n', `${header}\n`, guessed, '\n', 'done']);
    const notRight = linesAfterEachWrite(redactor, ['start\n', `${header}\n`, wrong, '\n', 'done']);
    assert.deepEqual(right, notRight, `prefix ${guessed.length}`);
    assert.deepEqual(right, [1, 2, 2, 3, 3]);
  }
  // The same on one line: the tail a prefix of a single-line value.
  const single = new Redactor();
  single.add(['correct-horse-battery']);
  assert.deepEqual(
    linesAfterEachWrite(single, ['a\nb correct-hor', 'se\n']),
    linesAfterEachWrite(single, ['a\nb incorrect-x', 'se\n']),
  );
});

test('a value that spans lines is masked line by line, wherever the writes split it', () => {
  const pem =
    '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----';
  const redactor = new Redactor();
  redactor.add([pem]);
  for (const { at, out } of everySplit(redactor, `key:\n${pem}\nbye`))
    assert.equal(out, ['key:', REDACTED, REDACTED, REDACTED, REDACTED, 'bye'].join('\n'), `split at ${at}`);
});

test('a line longer than the cap keeps its first bytes and says how many were cut; a value across the cut is masked whole', () => {
  const redactor = new Redactor();
  redactor.add(['the-secret-value']);
  const lines: string[] = [];
  const stream = new StreamRedactor(redactor, (l) => lines.push(l), { maxLineBytes: 20 });
  stream.write('0123456789012345the-sec');
  stream.write('ret-value and more\nshort\n');
  stream.write('ääääääääääääää');
  stream.end();
  assert.deepEqual(lines, [
    `0123456789012345${REDACTED} … [cut: 9 bytes]`,
    'short',
    // 20 bytes of two-byte characters: 10 of the 14 kept, none split.
    `${'ä'.repeat(10)} … [cut: 8 bytes]`,
  ]);
  assert.equal(DEFAULT_MAX_LINE_BYTES, 8192);
});

test('a single 60 MB line with no newline is kept to the cap and looked at once: memory and work stay bounded', () => {
  const redactor = new Redactor();
  redactor.add(['some-held-value', 'another-one']);
  const lines: string[] = [];
  const stream = new StreamRedactor(redactor, (l) => lines.push(l));
  const chunk = 'x'.repeat(64 * 1024);
  const total = 60 * 1024 * 1024;
  for (let sent = 0; sent < total; sent += chunk.length) stream.write(chunk);
  stream.end();
  assert.equal(lines.length, 1);
  assert.equal(lines[0], `${'x'.repeat(DEFAULT_MAX_LINE_BYTES)} … [cut: ${total - DEFAULT_MAX_LINE_BYTES} bytes]`);
  // The fixed window past the cap: the longest form (the hex one), however the line goes on.
  const window = Math.max(...valueForms('some-held-value').map((f) => f.length));
  assert.equal(stream.stats.received, total);
  // What it kept and what it masked are the cap and the fixed window, not the line.
  assert.ok(stream.stats.peakKept <= DEFAULT_MAX_LINE_BYTES + window, String(stream.stats.peakKept));
  assert.ok(stream.stats.masked <= DEFAULT_MAX_LINE_BYTES + window, String(stream.stats.masked));
});

test('the work on many lines is proportional to the output: each character is masked once', () => {
  const redactor = new Redactor();
  redactor.add(['some-held-value']);
  let count = 0;
  const stream = new StreamRedactor(redactor, () => count++);
  const line = `${'y'.repeat(100)}\n`;
  for (let i = 0; i < 10_000; i++) stream.write(line.slice(0, 37) + line.slice(37));
  stream.end();
  assert.equal(count, 10_000);
  assert.equal(stream.stats.masked, 100 * 10_000);
  assert.ok(stream.stats.peakKept <= 100);
});

test("the secret-key pattern (Spark's spark.redaction.regex) masks what follows a secret-looking key, and nothing else", () => {
  const cases: [string, string][] = [
    ['DB_PASSWORD=hunter2x ok', `DB_PASSWORD=${REDACTED} ok`],
    ['{"api_token": "abc.def", "n": 1}', `{"api_token": "${REDACTED}", "n": 1}`],
    ['spark.hadoop.fs.s3a.secret.key=XYZ/abc+', `spark.hadoop.fs.s3a.secret.key=${REDACTED}`],
    ['AWS_SECRET_ACCESS_KEY: wJalr/K7', `AWS_SECRET_ACCESS_KEY: ${REDACTED}`],
    ['fs.s3a.access.key=AKIA123', `fs.s3a.access.key=${REDACTED}`],
    ['url?user=bob&password=pw1&x=1', `url?user=bob&password=${REDACTED}&x=1`],
    [`token=${REDACTED} (ok)`, `token=${REDACTED} (ok)`],
    ['tokens 42, the password is set, secretary: none', `tokens 42, the password is set, secretary: ${REDACTED}`],
    ['nothing to see', 'nothing to see'],
  ];
  for (const [text, want] of cases) assert.equal(maskKeyValues(text), want, text);
  // Only with the option: a stream without it leaves the text as it is.
  const lines: string[] = [];
  const stream = new StreamRedactor(new Redactor(), (l) => lines.push(l), { maskKeyValues: true });
  stream.write('DB_PASSWORD=guess\n');
  assert.deepEqual(lines, [`DB_PASSWORD=${REDACTED}`]);
});

test('a long repetitive value compared with long repetitive output costs comparisons proportional to the output, not to output × value', () => {
  const almost = `${'a'.repeat(20_000)}b`;
  const exact = 'c'.repeat(20_000);
  const redactor = new Redactor();
  redactor.add([almost, exact]);
  const lines: string[] = [];
  const stream = new StreamRedactor(redactor, (l) => lines.push(l), { maxLineBytes: 1 << 20 });
  // Every position starts a near-match of `almost`; the second line is `exact` and a half.
  stream.write(`${'a'.repeat(60_000)}\n${'c'.repeat(30_000)}\n`);
  stream.end();
  assert.deepEqual(lines, ['a'.repeat(60_000), `${REDACTED}${'c'.repeat(10_000)}`]);
  const output = 90_000;
  // Comparing at every position (as a scan without hashes would) is 60,000 × 20,000 here.
  assert.ok(stream.stats.compared <= output, `${stream.stats.compared} characters compared`);
});
