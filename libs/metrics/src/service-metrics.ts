import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How a deployment ended: it runs (`deployed`) or it never will (`failed`). */
export type DeploymentOutcome = 'deployed' | 'failed';
/** Where a resolved reference's value came from: a managed backend or a domain's Vault integration. */
export type ReferenceSource = 'managed' | 'vault';
/** Who asked for a new deployment of a workload that had one: a person (`redeploy`) or its policy (`auto`). */
export type RedeployTrigger = 'redeploy' | 'auto';
/** One resolution attempt: published (resolved or failed for good) or thrown back to be delivered again. */
export type ResolutionResult = 'ok' | 'error';

/** The outbox of a service with a database: rows waiting to be published and the age of the oldest. */
export interface OutboxLag {
  pending: number;
  /** Seconds since the oldest pending row was written; 0 when none is pending. */
  oldestSeconds: number;
}

/** A Vault request as the catalog made it: whose integration, which operation, and how it ended. */
export interface VaultRequestSample {
  /** The integration's id, a UUID (`platform` for the platform's own Vault backend). */
  integration: string;
  /** read, list, metadata, lookup, write, delete, login. */
  op: string;
  seconds: number;
  /** The error's stable code (`vault.auth_failed` ...) when it failed. */
  error?: string;
}

/** Seconds: from a cached decision to a slow Vault or catalog read. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * One service's Prometheus metrics: a registry of its own (labelled with the
 * service name), Node's default process metrics, and the `latchkey_*` series
 * the services record through the methods below. Labels are low-cardinality
 * by construction: outcomes, sources, triggers, consumers, error codes, an
 * integration's id; never a key, a value, a token, a workload name or a
 * domain name (a workload on the same host can reach an embedded system's
 * listeners: it learns counts, not other tenants' names). A series appears
 * once it is first recorded.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #made = new Map<string, Counter | Histogram | Gauge>();

  constructor(service: string, opts: { defaultMetrics?: boolean } = {}) {
    this.registry.setDefaultLabels({ service });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** The exposition text (Prometheus text format) and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  deploymentEnded(outcome: DeploymentOutcome): void {
    this.#counter('latchkey_deployments_total', 'Deployments that ended, by outcome', ['outcome']).inc({ outcome });
  }

  resolutionObserved(seconds: number, result: ResolutionResult): void {
    this.#histogram(
      'latchkey_resolution_duration_seconds',
      'Time the resolver took for one resolution attempt of a deployment (checks, reads, sealing, publishing)',
      ['result'],
    ).observe({ result }, seconds);
  }

  referencesResolved(source: ReferenceSource, count: number): void {
    if (count <= 0) return;
    this.#counter('latchkey_references_resolved_total', 'References resolved for deployments, by source', [
      'source',
    ]).inc({ source }, count);
  }

  vaultRequest(sample: VaultRequestSample): void {
    const labels = { integration: sample.integration, op: sample.op };
    this.#histogram(
      'latchkey_vault_request_duration_seconds',
      'Requests to Vault (integrations and the platform backend), by integration and operation',
      ['integration', 'op'],
    ).observe(labels, sample.seconds);
    if (sample.error !== undefined) {
      this.#counter('latchkey_vault_request_errors_total', 'Vault requests that failed, by integration and code', [
        'integration',
        'op',
        'code',
      ]).inc({ ...labels, code: sample.error });
    }
  }

  staleMarked(workloads: number): void {
    if (workloads <= 0) return;
    this.#counter('latchkey_stale_marks_total', 'Workloads marked stale by a secret change', []).inc(workloads);
  }

  redeployed(trigger: RedeployTrigger): void {
    this.#counter('latchkey_redeploys_total', 'Redeployments recorded, by trigger', ['trigger']).inc({ trigger });
  }

  consumerRedelivered(consumer: string): void {
    this.#counter(
      'latchkey_consumer_redeliveries_total',
      'JetStream messages a durable consumer received again (after a nak, a timeout or a crash)',
      ['consumer'],
    ).inc({ consumer });
  }

  decisionCache(result: 'hit' | 'miss'): void {
    this.#counter(
      'latchkey_decision_cache_lookups_total',
      'Authorization decisions looked up in the cache: hit (no call to ras) or miss (asked ras)',
      ['result'],
    ).inc({ result });
  }

  /**
   * Outbox lag gauges, read at each scrape with `read` (one query); a read
   * that fails leaves the gauges at their last value.
   */
  outboxLag(read: () => Promise<OutboxLag>): void {
    let last: Promise<OutboxLag | undefined> | undefined;
    // Both gauges are collected in one scrape: one query serves the two.
    const sample = (): Promise<OutboxLag | undefined> => {
      last ??= read()
        .catch(() => undefined)
        .finally(() => setImmediate(() => (last = undefined)));
      return last;
    };
    const gauge = (name: string, help: string, pick: (lag: OutboxLag) => number) =>
      this.#adopt(
        name,
        () =>
          new Gauge({
            name,
            help,
            registers: [this.registry],
            async collect() {
              const lag = await sample();
              if (lag !== undefined) this.set(pick(lag));
            },
          }),
      );
    gauge('latchkey_outbox_pending_rows', 'Outbox rows committed and not yet published', (l) => l.pending);
    gauge(
      'latchkey_outbox_oldest_pending_seconds',
      'Age of the oldest outbox row not yet published (0: none pending)',
      (l) => l.oldestSeconds,
    );
  }

  #counter(name: string, help: string, labelNames: string[]): Counter {
    return this.#adopt(name, () => new Counter({ name, help, labelNames, registers: [this.registry] }));
  }

  #histogram(name: string, help: string, labelNames: string[]): Histogram {
    return this.#adopt(
      name,
      () => new Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers: [this.registry] }),
    );
  }

  #adopt<T extends Counter | Histogram | Gauge>(name: string, make: () => T): T {
    const had = this.#made.get(name);
    if (had !== undefined) return had as T;
    const made = make();
    this.#made.set(name, made);
    return made;
  }
}
