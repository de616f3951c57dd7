import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  nanos,
  type JetStreamManager,
  type StreamConfig,
} from 'nats';

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
export async function ensureStream(
  jsm: JetStreamManager,
  spec: StreamSpec,
  opts: { update?: boolean } = {},
): Promise<void> {
  const cfg: Partial<StreamConfig> = {
    name: spec.name,
    subjects: spec.subjects,
    retention: spec.workQueue ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs ?? 120_000),
  };
  try {
    await jsm.streams.info(spec.name);
    if (opts.update !== false) await jsm.streams.update(spec.name, cfg);
  } catch (err) {
    if (!/stream not found/i.test(String((err as Error).message))) throw err;
    try {
      await jsm.streams.add(cfg);
    } catch (addErr) {
      // Another replica created it between our info and add.
      if (!/already in use/i.test(String((addErr as Error).message))) throw addErr;
    }
  }
}

export interface ConsumerSpec {
  stream: string;
  durable: string;
  filterSubjects: string[];
  ackWaitMs?: number;
  maxDeliver?: number;
}

/** A durable pull consumer, shared by every replica that names it. */
export async function ensureConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  const cfg = {
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
    await jsm.consumers.update(spec.stream, spec.durable, cfg);
  } catch (err) {
    if (!/consumer not found/i.test(String((err as Error).message))) throw err;
    await jsm.consumers.add(spec.stream, cfg);
  }
}
