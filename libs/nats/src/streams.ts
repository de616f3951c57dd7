import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  nanos,
  type JetStreamManager,
  type StreamConfig,
} from 'nats';
import { LatchkeyError } from '@latchkey/errors';

/** JetStream's answer when asked for more replicas than it has servers (or for R>1 on a single server). */
const TOO_MANY_REPLICAS = /insufficient resources|replicas > 1 not supported|no suitable peers|not enough peers/i;

/** A replica count the cluster cannot give, explained; any other error unchanged. */
function replicasProblem(err: unknown, what: string, replicas: number): unknown {
  const message = String((err as Error).message);
  if (replicas <= 1 || !TOO_MANY_REPLICAS.test(message)) return err;
  return new LatchkeyError(
    'nats.replicas_unavailable',
    `JetStream cannot keep ${what} on ${replicas} servers (${message}): LATCHKEY_NATS_REPLICAS=${replicas} needs a NATS cluster of at least ${replicas} JetStream servers; lower LATCHKEY_NATS_REPLICAS or add servers`,
    { kind: 'failed_precondition', cause: err },
  );
}

/**
 * A JetStream API request that got no answer in time (nats.js `TIMEOUT`, or
 * `503` no responders): while a stream moves to more servers or elects a new
 * leader the meta layer can drop a request. Every step below is idempotent
 * (info, then add or update to the same config), so the whole step is asked
 * again, a bounded number of times with growing pauses; any other error, and
 * the last timeout, go to the caller.
 */
async function retryingApiTimeouts<T>(step: () => Promise<T>, firstPauseMs = 500, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      const code = String((err as { code?: unknown }).code ?? '');
      if (attempt >= attempts || (code !== 'TIMEOUT' && code !== '503')) throw err;
      await new Promise((resolve) => setTimeout(resolve, firstPauseMs * 2 ** (attempt - 1)));
    }
  }
}

export interface StreamSpec {
  name: string;
  subjects: string[];
  workQueue?: boolean;
  maxAgeMs: number;
  duplicateWindowMs?: number;
}

/**
 * Creates a stream to match `spec`, or (`update`, the default) updates it to
 * match. Safe for replicas starting together. A service that does not own
 * the stream passes `update: false`: its NATS user may create a missing
 * stream but not change one (only the owner's may).
 */
export function ensureStream(
  jsm: JetStreamManager,
  spec: StreamSpec,
  opts: { update?: boolean; replicas?: number; retryPauseMs?: number } = {},
): Promise<void> {
  return retryingApiTimeouts(() => ensureStreamOnce(jsm, spec, opts), opts.retryPauseMs);
}

async function ensureStreamOnce(
  jsm: JetStreamManager,
  spec: StreamSpec,
  opts: { update?: boolean; replicas?: number },
): Promise<void> {
  const replicas = opts.replicas ?? 1;
  const cfg: Partial<StreamConfig> = {
    name: spec.name,
    subjects: spec.subjects,
    retention: spec.workQueue ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs ?? 120_000),
    num_replicas: replicas,
  };
  try {
    await jsm.streams.info(spec.name);
  } catch (err) {
    if (!/stream not found/i.test(String((err as Error).message))) throw err;
    try {
      await jsm.streams.add(cfg);
      return;
    } catch (addErr) {
      // Another replica created it between our info and add: updated below.
      if (!/already in use/i.test(String((addErr as Error).message)))
        throw replicasProblem(addErr, `stream ${spec.name}`, replicas);
    }
  }
  // An existing stream takes the spec, its replica count included (JetStream moves it to more or fewer servers).
  if (opts.update !== false) {
    await jsm.streams.update(spec.name, cfg).catch((err: unknown) => {
      throw replicasProblem(err, `stream ${spec.name}`, replicas);
    });
  }
}

export interface ConsumerSpec {
  stream: string;
  durable: string;
  filterSubjects: string[];
  ackWaitMs?: number;
  maxDeliver?: number;
}

/**
 * A durable pull consumer, shared by every replica that names it, kept on
 * `replicas` servers (default 1; an existing consumer is updated to it).
 */
export function ensureConsumer(
  jsm: JetStreamManager,
  spec: ConsumerSpec,
  opts: { replicas?: number; retryPauseMs?: number } = {},
): Promise<void> {
  return retryingApiTimeouts(() => ensureConsumerOnce(jsm, spec, opts), opts.retryPauseMs);
}

async function ensureConsumerOnce(
  jsm: JetStreamManager,
  spec: ConsumerSpec,
  opts: { replicas?: number },
): Promise<void> {
  const replicas = opts.replicas ?? 1;
  const cfg = {
    num_replicas: replicas,
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(spec.ackWaitMs ?? 30_000),
    max_deliver: spec.maxDeliver ?? 20,
    ...(spec.filterSubjects.length === 1
      ? { filter_subject: spec.filterSubjects[0] }
      : { filter_subjects: spec.filterSubjects }),
  };
  try {
    await jsm.consumers.info(spec.stream, spec.durable);
  } catch (err) {
    if (!/consumer not found/i.test(String((err as Error).message))) throw err;
    try {
      await jsm.consumers.add(spec.stream, cfg);
      return;
    } catch (addErr) {
      throw replicasProblem(addErr, `consumer ${spec.durable} of ${spec.stream}`, replicas);
    }
  }
  await jsm.consumers.update(spec.stream, spec.durable, cfg).catch((err: unknown) => {
    throw replicasProblem(err, `consumer ${spec.durable} of ${spec.stream}`, replicas);
  });
}
