import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from '@latchkey/config';
import { natsHostsOf, natsReplicas, natsUrlList, parseNatsUrls } from './nats-urls.js';

test('a comma-separated list of nats:// and tls:// URLs is the list of servers, spaces trimmed', () => {
  assert.deepEqual(parseNatsUrls('nats://nats-1:4222, nats://nats-2:4222 ,tls://[::1]:4223'), [
    'nats://nats-1:4222',
    'nats://nats-2:4222',
    'tls://[::1]:4223',
  ]);
  assert.deepEqual(parseNatsUrls('nats://127.0.0.1:7422'), ['nats://127.0.0.1:7422']);
  assert.deepEqual(natsHostsOf('nats://nats-1:4222,tls://10.1.2.3:4222'), ['nats-1', '10.1.2.3']);
});

test('a bad entry is refused naming the entry, the variable and the form expected', () => {
  const bad = (list: string, why: RegExp) =>
    assert.throws(
      () => parseNatsUrls(list),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'config.invalid');
        assert.match(err.message, /^LATCHKEY_NATS_URL: /);
        assert.match(err.message, why);
        return true;
      },
    );
  bad('nats://a:4222,http://b:4222', /"http:\/\/b:4222" is not a nats:\/\/ or tls:\/\/ URL/);
  bad('nats://a:4222,,nats://b:4222', /an empty entry .* remove the extra comma/);
  bad('  ', /names no NATS server/);
  bad('a:4222', /"a:4222" is not a nats:\/\/ or tls:\/\/ URL/);
  bad('nats://a b', /"nats:\/\/a b" is not a URL/);
  bad('nats://a:4222/x', /has a path/);
  // Credentials in a URL would be printed with it: refused without echoing them.
  assert.throws(
    () => parseNatsUrls('nats://user:hunter2@a:4222'),
    (err: Error) =>
      /carries credentials in the URL: use LATCHKEY_NATS_CREDS_FILE/.test(err.message) &&
      !err.message.includes('hunter2'),
  );
});

test('LATCHKEY_NATS_URL and LATCHKEY_NATS_REPLICAS in a zod schema: checked at start, with the reason', () => {
  const schema = z.object({ LATCHKEY_NATS_URL: natsUrlList(), LATCHKEY_NATS_REPLICAS: natsReplicas() });
  assert.deepEqual(schema.parse({ LATCHKEY_NATS_URL: 'nats://a:1,nats://b:2' }), {
    LATCHKEY_NATS_URL: 'nats://a:1,nats://b:2',
    LATCHKEY_NATS_REPLICAS: 1,
  });
  assert.equal(
    schema.parse({ LATCHKEY_NATS_URL: 'nats://a:1', LATCHKEY_NATS_REPLICAS: '3' }).LATCHKEY_NATS_REPLICAS,
    3,
  );
  const issues = (env: Record<string, string>) =>
    schema.safeParse(env).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.match(
    String(issues({ LATCHKEY_NATS_URL: 'nats://a:1,http://b:2' })),
    /LATCHKEY_NATS_URL: "http:\/\/b:2" is not a nats:\/\/ or tls:\/\/ URL/,
  );
  assert.match(
    String(issues({ LATCHKEY_NATS_URL: 'nats://a:1', LATCHKEY_NATS_REPLICAS: '7' })),
    /LATCHKEY_NATS_REPLICAS: a whole number from 1 to 5/,
  );
  assert.match(
    String(issues({ LATCHKEY_NATS_URL: 'nats://a:1', LATCHKEY_NATS_REPLICAS: '0' })),
    /LATCHKEY_NATS_REPLICAS: a whole number from 1 to 5/,
  );
  assert.match(
    String(issues({ LATCHKEY_NATS_URL: 'nats://a:1', LATCHKEY_NATS_REPLICAS: 'two' })),
    /LATCHKEY_NATS_REPLICAS: a whole number/,
  );
});
