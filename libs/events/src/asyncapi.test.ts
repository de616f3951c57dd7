import assert from 'node:assert/strict';
import { test } from 'node:test';
import asyncApiSpecs from '@asyncapi/specs';
import { Ajv } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { asyncApiDocument, PUBLIC_EVENTS } from './asyncapi.js';
import { eventContract, resolveRef } from './asyncapi-validator.js';
import { PUBLIC_SUBJECTS, subscriberPermissions } from './bus-permissions.js';
import { subjects } from './subjects.js';

type Json = Record<string, unknown>;

/** The official JSON Schema of AsyncAPI 3.0.0 (it embeds draft 07's meta-schema, which ajv must not add twice). */
function officialValidator() {
  const ajv = new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false });
  addFormatsPlugin.default(ajv);
  return ajv.compile(asyncApiSpecs.schemas['3.0.0']);
}

/** Every `$ref` in `value`, with where it is. */
function refs(value: unknown, at = '#'): { at: string; ref: string }[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Json).flatMap(([k, v]) =>
    k === '$ref' && typeof v === 'string' ? [{ at, ref: v }] : refs(v, `${at}/${k}`),
  );
}

const deref = (doc: Json, v: unknown): Json => {
  let at = v as Json;
  while (typeof at.$ref === 'string') at = resolveRef(doc, at.$ref) as Json;
  return at;
};

test('the AsyncAPI document is valid AsyncAPI 3.0 by the official schema, and an invalid one is told apart', () => {
  const validate = officialValidator();
  const doc = asyncApiDocument();
  assert.equal(validate(doc), true, JSON.stringify(validate.errors, null, 2));
  assert.equal(doc.asyncapi, '3.0.0');
  for (const field of ['info', 'channels', 'operations', 'components']) assert.ok(doc[field], `${field} is there`);

  // The check can fail: without info.version, or with a 2.x-style parameter schema, the document is refused.
  const noVersion = structuredClone(doc) as { info: Json };
  delete noVersion.info.version;
  assert.equal(validate(noVersion), false);
  const v2Parameter = structuredClone(doc) as { channels: Record<string, { parameters: Record<string, Json> }> };
  v2Parameter.channels.workloadStale!.parameters.domain!.schema = { type: 'string' };
  assert.equal(validate(v2Parameter), false);
});

test('every $ref resolves; every channel has messages with CloudEvents headers and an object payload schema; every operation sends its channel’s messages', () => {
  const doc = asyncApiDocument();
  const all = refs(doc);
  assert.ok(all.length >= 20, `the document uses references (${all.length})`);
  for (const { at, ref } of all) assert.notEqual(resolveRef(doc, ref), undefined, `${at}: ${ref} does not resolve`);
  assert.equal(resolveRef(doc, '#/components/schemas/NoSuchSchema'), undefined, 'a dangling reference is seen');

  const channels = doc.channels as Json;
  assert.equal(Object.keys(channels).length, PUBLIC_EVENTS.length);
  for (const [name, raw] of Object.entries(channels)) {
    const ch = deref(doc, raw);
    const params = [...String(ch.address).matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    assert.deepEqual(
      Object.keys(ch.parameters as Json),
      params,
      `${name}: each {parameter} of the address is described`,
    );
    const messages = Object.values(ch.messages as Json).map((m) => deref(doc, m));
    assert.ok(messages.length > 0, `${name} has messages`);
    for (const m of messages) {
      const payload = deref(doc, m.payload);
      assert.equal(payload.type, 'object', `${name}: payload schema`);
      assert.equal(payload.additionalProperties, false, `${name}: the payload is closed, as the code's is`);
      assert.ok((payload.required as string[]).length > 0, `${name}: required fields`);
      const headers = deref(doc, m.headers);
      assert.ok(Array.isArray(headers.allOf), `${name}: headers schema`);
    }
  }
  for (const [name, op] of Object.entries(doc.operations as Record<string, Json>)) {
    assert.equal(op.action, 'send', name);
    const channelRef = (op.channel as Json).$ref as string;
    for (const m of op.messages as Json[]) {
      assert.ok(String(m.$ref).startsWith(`${channelRef}/messages/`), `${name}: its messages are its channel's`);
    }
  }
});

test('the document describes exactly the subjects a subscriber’s credentials grant, with the code’s subjects and CloudEvents types', () => {
  const doc = asyncApiDocument();
  const contract = eventContract(doc);
  const granted = subscriberPermissions(['analytics']).subscribe;
  assert.equal(granted.length, PUBLIC_SUBJECTS.length);
  for (const subject of granted) {
    assert.ok(contract.check({ subject, headers: {}, data: '{}' }), `${subject} is documented`);
  }
  // Internal subjects are not part of it.
  for (const subject of [subjects.deploying('analytics'), subjects.resolved('analytics'), subjects.policyChanged()]) {
    assert.equal(contract.check({ subject, headers: {}, data: '{}' }), undefined, `${subject} is internal`);
  }
  const documentedTypes = Object.values((doc.components as { schemas: Json }).schemas)
    .flatMap((s) => ((s as Json).allOf as Json[] | undefined) ?? [])
    .map((s) => ((s.properties as Json | undefined)?.['ce-type'] as Json | undefined)?.const)
    .filter((t) => t !== undefined)
    .sort();
  assert.deepEqual(documentedTypes, PUBLIC_EVENTS.map((e) => e.type).sort());
});

test('each message’s example in the document is a valid message of its channel', () => {
  const doc = asyncApiDocument();
  const contract = eventContract(doc);
  const messages = (doc.components as { messages: Record<string, Json> }).messages;
  assert.equal(Object.keys(messages).length, PUBLIC_EVENTS.length);
  for (const [name, m] of Object.entries(messages)) {
    for (const ex of m.examples as { headers: Record<string, string>; payload: unknown }[]) {
      const checked = contract.check({
        subject: ex.headers['ce-subject']!,
        headers: ex.headers,
        data: JSON.stringify(ex.payload),
      });
      assert.deepEqual(checked, { channel: name, problems: [] });
    }
  }
});
