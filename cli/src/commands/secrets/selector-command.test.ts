import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { sendUnaryData } from '@grpc/grpc-js';
import type { SelectorRequest } from '@latchkey/proto';
import { main } from '../../main.js';
import { useFakeServices } from '../../testing/fake-services.js';

const fake = useFakeServices({
  catalog: {
    selector: (call, cb) => {
      const page2 = call.request.pageToken === 'p2';
      (cb as sendUnaryData<unknown>)(null, {
        entries: page2
          ? [
              {
                key: 'api_key',
                sourceType: 'VAULT',
                backend: '',
                sourceId: 'vi-1',
                integrationName: 'team-vault',
                readOnly: true,
              },
            ]
          : [
              {
                key: 'db_password',
                sourceType: 'MANAGED',
                backend: 'database',
                sourceId: 'analytics',
                integrationName: '',
                readOnly: false,
              },
              {
                key: 'shared',
                sourceType: 'MANAGED',
                backend: 'database',
                sourceId: 'global',
                integrationName: '',
                readOnly: true,
              },
            ],
        sources: [
          { source: 'MANAGED:analytics', available: true, reason: '' },
          { source: 'VAULT:slow-vault (vi-3)', available: false, reason: 'timed out after 5 s' },
        ],
        nextPageToken: page2 ? '' : 'p2',
      });
    },
  },
});

test('secret selector follows every page and lists unavailable sources with their reasons', async () => {
  const out = fake.io();
  assert.equal(await main(['secret', 'selector', '--domain', 'analytics'], out), 0);
  assert.deepEqual(
    (fake.seen.get('selector') as SelectorRequest[]).map((r) => r.pageToken),
    ['', 'p2'],
  );
  assert.match(out.stdoutLines[0] ?? '', /^KEY +SOURCE +BACKEND\/INTEGRATION +READ-ONLY$/);
  assert.match(out.stdoutLines[1] ?? '', /^db_password +MANAGED:analytics +database +no$/);
  assert.match(out.stdoutLines[2] ?? '', /^shared +MANAGED:global +database +yes$/);
  assert.match(out.stdoutLines[3] ?? '', /^api_key +VAULT +team-vault \(vi-1\) +yes$/);
  assert.deepEqual(out.stdoutLines.slice(4), ['unavailable: VAULT:slow-vault (vi-3): timed out after 5 s']);
});

test('secret selector --page-size asks for one page and shows how to get the next', async () => {
  const out = fake.io();
  assert.equal(await main(['secret', 'selector', '--domain', 'analytics', '--page-size', '2', '--json'], out), 0);
  assert.equal(fake.calls('selector'), 1);
  assert.equal(fake.last<SelectorRequest>('selector').pageSize, 2);
  const json = JSON.parse(out.stdoutLines.join('\n')) as { entries: unknown[]; nextPageToken: string };
  assert.equal(json.entries.length, 2);
  assert.equal(json.nextPageToken, 'p2');
  const bad = fake.io();
  assert.equal(await main(['secret', 'selector', '--domain', 'analytics', '--page-size', '0'], bad), 2);
  assert.match(bad.stderrLines[0] ?? '', /--page-size must be a positive whole number/);
});
