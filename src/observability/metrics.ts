import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ThreadCpu } from './thread-cpu';
import { ownThreadId } from './thread-id';

/** The interval of the timer behind the `chatops_nodejs_eventloop_lag_*` histogram readings (see the constructor). */
export const EVENT_LOOP_TIMER_MS = 50;

/** Reasons become label values: keep the stable code (before any ':' detail) and bound its length. */
const reasonLabel = (reason: string | undefined) => (reason ?? '').split(':')[0]!.trim().slice(0, 60);

/** Background loops whose failures are counted (each survives them: it logs, backs off and goes on). */
export const LOOPS = ['delivery', 'digest', 'message_editor', 'panther_writeback', 'silences', 'escalation', 'token_checks', 'queue_gauges'] as const;
export type LoopName = (typeof LOOPS)[number];

/**
 * The part of {@link BridgeMetrics} the delivering side reports through: what a delivery thread forwards to the
 * main thread's registry (forwarded-metrics.ts), and what the delivering services depend on.
 */
export type DeliveryMetrics = Pick<BridgeMetrics, 'delivery' | 'templateError' | 'edit' | 'pantherWriteback' | 'silence' | 'digest' | 'reminder' | 'loopError'>;

export interface QueueStats {
  destination: string;
  depth: number;
  oldestAgeSeconds: number;
}

/**
 * The bridge's Prometheus metrics on a registry of its own (several bridges can live in one process, as in
 * tests). Label sets that matter for alerting are initialised at start so they exist as 0 before anything
 * happens (a rate() over a series that appears late hides the first incident).
 */
export class BridgeMetrics {
  readonly registry = new Registry();
  /** CPU per thread of the bridge (thread-cpu.ts); the delivery thread is added once it runs. */
  readonly threadCpu = new ThreadCpu(this.registry);
  private readonly received = new Counter({ name: 'chatops_alerts_received_total', help: 'Webhook requests with a valid alert', labelNames: ['source'], registers: [this.registry] });
  private readonly rejected = new Counter({ name: 'chatops_alerts_rejected_total', help: 'Webhook requests refused', labelNames: ['source', 'reason'], registers: [this.registry] });
  private readonly duplicates = new Counter({ name: 'chatops_alerts_duplicate_total', help: 'Redeliveries recognised as duplicates', labelNames: ['source'], registers: [this.registry] });
  private readonly unrouted = new Counter({ name: 'chatops_alerts_unrouted_total', help: 'Accepted alerts no route matched', labelNames: ['source'], registers: [this.registry] });
  private readonly deliveries = new Counter({ name: 'chatops_deliveries_total', help: 'Delivery attempts by outcome', labelNames: ['destination', 'outcome', 'reason'], registers: [this.registry] });
  private readonly rateLimited = new Counter({ name: 'chatops_rate_limited_total', help: '429s and rate-limit holds per destination', labelNames: ['destination'], registers: [this.registry] });
  private readonly latency = new Histogram({
    name: 'chatops_delivery_latency_seconds',
    help: 'From accept to delivered',
    labelNames: ['destination'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
    registers: [this.registry],
  });
  private readonly templateErrors = new Counter({ name: 'chatops_template_errors_total', help: 'Renders that fell back to the built-in template', labelNames: ['destination'], registers: [this.registry] });
  private readonly interactions = new Counter({ name: 'chatops_interactions_total', help: 'Button clicks and interaction requests by outcome', labelNames: ['platform', 'action', 'outcome'], registers: [this.registry] });
  private readonly edits = new Counter({ name: 'chatops_message_edits_total', help: 'In-place edits of posted messages (triage state, thread counters)', labelNames: ['destination', 'outcome'], registers: [this.registry] });
  private readonly pantherSync = new Counter({ name: 'chatops_panther_writeback_total', help: 'Write-backs of triage actions to Panther by outcome', labelNames: ['outcome'], registers: [this.registry] });
  private readonly reminders = new Counter({
    name: 'chatops_escalation_reminders_total',
    help: 'Escalation reminders by outcome (sent, retry, rate_limited, failed, stopped by a route change)',
    labelNames: ['destination', 'outcome'],
    registers: [this.registry],
  });
  private readonly silences = new Counter({
    name: 'chatops_silences_total',
    help: 'Silences from chat: API calls (create, expire) and ends, by source and outcome (created, expired, ended, retry, failed)',
    labelNames: ['source', 'operation', 'outcome'],
    registers: [this.registry],
  });
  private readonly digests = new Counter({ name: 'chatops_digests_total', help: 'Digest messages posted or edited', labelNames: ['destination', 'action'], registers: [this.registry] });
  private readonly loopErrors = new Counter({
    name: 'chatops_loop_errors_total',
    help: 'Failures of a background loop (store unavailable or locked, unexpected errors); the loop backs off and goes on',
    labelNames: ['loop'],
    registers: [this.registry],
  });
  private readonly payloadDefaults = new Counter({
    name: 'chatops_payload_defaults_total',
    help: 'Accepted payload fields that were missing, empty or malformed and got a default (payload drift)',
    labelNames: ['source', 'field'],
    registers: [this.registry],
  });

  /**
   * `payloadFields` names, per source, every field its adapter may default, so those series exist as 0 from the
   * start (a rate() over a series that appears with the first drifted payload misses it).
   */
  constructor(sources: string[], destinations: string[], queue: () => QueueStats[] | Promise<QueueStats[]>, payloadFields: Readonly<Record<string, readonly string[]>> = {}) {
    // The event-loop lag histogram is a timer on the loop: at prom-client's default 10 ms it woke an idle bridge's
    // main thread 100 times a second, 6.7 ms of CPU per second on a 2-vCPU VM (a bare node process: 6.74 ms/s at
    // 10 ms, 1.31 at 50), most of an idle bridge's CPU and 7 % of a 100-millicore limit. At 50 ms a block of the
    // loop still shows whole in the max (it delays the timer by all of it); the readings are the timer's intervals,
    // so an idle loop reads about 0.05 s (docs/operations.md).
    collectDefaultMetrics({ register: this.registry, prefix: 'chatops_', eventLoopMonitoringPrecision: EVENT_LOOP_TIMER_MS });
    this.threadCpu.track('main', ownThreadId());
    const depth = new Gauge({ name: 'chatops_queue_depth', help: 'Pending deliveries', labelNames: ['destination'], registers: [this.registry] });
    const oldest = new Gauge({ name: 'chatops_oldest_pending_age_seconds', help: 'Age of the oldest pending delivery', labelNames: ['destination'], registers: [this.registry] });
    const refresh = async () => {
      let stats: QueueStats[];
      try {
        stats = await queue();
      } catch {
        // A store that cannot answer must not take /metrics down with it (the error counter is how it shows):
        // the gauges keep their last values.
        this.loopErrors.inc({ loop: 'queue_gauges' });
        return;
      }
      for (const name of destinations) {
        depth.set({ destination: name }, 0);
        oldest.set({ destination: name }, 0);
      }
      for (const stat of stats) {
        depth.set({ destination: stat.destination }, stat.depth);
        oldest.set({ destination: stat.destination }, stat.oldestAgeSeconds);
      }
    };
    this.collect = refresh;
    for (const source of sources) {
      this.received.inc({ source }, 0);
      this.duplicates.inc({ source }, 0);
      this.unrouted.inc({ source }, 0);
      for (const reason of ['unauthorized', 'unsupported_media_type', 'payload_too_large', 'invalid_payload', 'store_unavailable']) this.rejected.inc({ source, reason }, 0);
      for (const field of payloadFields[source] ?? []) this.payloadDefaults.inc({ source, field }, 0);
    }
    for (const platform of ['slack', 'discord']) {
      for (const action of ['acknowledge', 'resolve', 'assign']) for (const outcome of ['applied', 'denied']) this.interactions.inc({ platform, action, outcome }, 0);
      for (const outcome of ['bad_signature', 'replayed']) this.interactions.inc({ platform, action: '', outcome }, 0);
    }
    for (const outcome of ['synced', 'retry', 'failed']) this.pantherSync.inc({ outcome }, 0);
    for (const loop of LOOPS) this.loopErrors.inc({ loop }, 0);
    for (const destination of destinations) {
      for (const outcome of ['edited', 'retry', 'rate_limited', 'failed']) this.edits.inc({ destination, outcome }, 0);
      for (const outcome of ['sent', 'failed']) this.reminders.inc({ destination, outcome }, 0);
      for (const outcome of ['delivered', 'retry', 'rate_limited', 'dead']) this.deliveries.inc({ destination, outcome, reason: '' }, 0);
      this.rateLimited.inc({ destination }, 0);
      this.templateErrors.inc({ destination }, 0);
    }
  }

  /**
   * Names this process in its metrics: `chatops_instance_info{instance_id, engine, role} 1`. With several replicas
   * behind one Service, each scrape says which replica answered, so its series (and a lease a dead replica left in
   * the store, which names the same id) can be told apart, and what it does (`serve --role`: all, receiver,
   * worker). Called once, when the store is open.
   */
  identify(instanceId: string, engine: string, role: string): void {
    new Gauge({ name: 'chatops_instance_info', help: 'This process: its instance id (as leases in the store name it), store engine and serve role', labelNames: ['instance_id', 'engine', 'role'], registers: [this.registry] }).set({ instance_id: instanceId, engine, role }, 1);
  }

  /** Refreshes the queue gauges (called before each scrape). */
  readonly collect: () => Promise<void>;

  alertReceived(source: string): void {
    this.received.inc({ source });
  }
  alertRejected(source: string, reason: string): void {
    this.rejected.inc({ source, reason });
  }
  alertDuplicate(source: string): void {
    this.duplicates.inc({ source });
  }
  /** A payload `field` the source's adapter had to default or coerce (see docs/panther.md). */
  payloadDefault(source: string, field: string): void {
    this.payloadDefaults.inc({ source, field });
  }
  alertUnrouted(source: string): void {
    this.unrouted.inc({ source });
  }
  delivery(destination: string, outcome: 'delivered' | 'retry' | 'rate_limited' | 'dead', reason?: string, latencySeconds?: number): void {
    this.deliveries.inc({ destination, outcome, reason: outcome === 'delivered' ? '' : reasonLabel(reason) });
    if (outcome === 'rate_limited') this.rateLimited.inc({ destination });
    if (latencySeconds !== undefined) this.latency.observe({ destination }, latencySeconds);
  }
  templateError(destination: string): void {
    this.templateErrors.inc({ destination });
  }
  /** One interaction request: a click applied or denied, or a request refused before reading it. */
  interaction(platform: 'slack' | 'discord', action: string, outcome: 'applied' | 'denied' | 'duplicate' | 'bad_signature' | 'replayed' | 'unknown' | 'failed'): void {
    this.interactions.inc({ platform, action, outcome });
  }
  edit(destination: string, outcome: 'edited' | 'retry' | 'rate_limited' | 'failed'): void {
    this.edits.inc({ destination, outcome });
  }
  pantherWriteback(outcome: 'synced' | 'retry' | 'failed'): void {
    this.pantherSync.inc({ outcome });
  }
  /** One escalation reminder's outcome. */
  reminder(destination: string, outcome: 'sent' | 'retry' | 'rate_limited' | 'failed' | 'stopped'): void {
    this.reminders.inc({ destination, outcome });
  }
  /** One silence job done: its source, what it did (create, expire, end) and what it came to. */
  silence(source: string, operation: 'create' | 'expire' | 'end', outcome: 'created' | 'expired' | 'ended' | 'retry' | 'failed'): void {
    this.silences.inc({ source, operation, outcome });
  }
  digest(destination: string, action: 'posted' | 'edited'): void {
    this.digests.inc({ destination, action });
  }
  /** One failure of a background loop (it logs it, backs off and tries again). */
  loopError(loop: LoopName): void {
    this.loopErrors.inc({ loop });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    await this.collect();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
