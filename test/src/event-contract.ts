import assert from 'node:assert/strict';
import type { NatsConnection } from 'nats';
import { STREAM_EVENTS } from '@latchkey/events';
import { eventContract } from '@latchkey/events/contract';
import { connectEmbeddedBus } from './bus-harness.js';

/**
 * Every message of the events stream on a subject the AsyncAPI document
 * describes (the public events: `workload.stale|deployed|failed`,
 * `secret.changed|rotation_due`), checked against the document; what it
 * found wrong, one line per problem naming the subject, the message id,
 * its stream sequence and the schema error. Subscribers outside Latchkey
 * receive exactly what the stream holds (the same publish).
 */
export async function publicEventProblems(nc: NatsConnection): Promise<{ checked: number; problems: string[] }> {
  const contract = eventContract();
  const jsm = await nc.jetstreamManager();
  const { state } = await jsm.streams.info(STREAM_EVENTS);
  let checked = 0;
  const problems: string[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(STREAM_EVENTS, { seq }).catch((err: unknown) => {
      // A sequence with no message (deleted, or aged out) has nothing to check.
      if (err instanceof Error && /no message found/i.test(err.message)) return undefined;
      throw err;
    });
    if (!m) continue;
    const headers = Object.fromEntries(m.header ? [...m.header.keys()].map((k) => [k, m.header.get(k)]) : []);
    const result = contract.check({ subject: m.subject, headers, data: m.data, seq: m.seq });
    if (!result) continue;
    checked++;
    problems.push(...result.problems);
  }
  return { checked, problems };
}

/**
 * Fails, listing every problem, unless each public event the embedded system
 * on `home` published is as the AsyncAPI document describes it; run by
 * startSystem's cleanup at the end of every end-to-end test. Returns how many
 * were checked.
 */
export async function assertPublicEventsDocumented(home: string): Promise<number> {
  const nc = await connectEmbeddedBus(home);
  try {
    const { checked, problems } = await publicEventProblems(nc);
    assert.deepEqual(problems, [], `published events differ from the AsyncAPI document:\n${problems.join('\n')}`);
    return checked;
  } finally {
    await nc.close();
  }
}
