import type { BridgeMetrics, DeliveryMetrics } from './metrics';

/** One call of a {@link DeliveryMetrics} method, as it crosses from a delivery thread to the main thread. */
export type MetricEvent = { [K in keyof DeliveryMetrics]: [K, ...Parameters<DeliveryMetrics[K]>] }[keyof DeliveryMetrics];

const FORWARDED: ReadonlySet<string> = new Set<keyof DeliveryMetrics>(['delivery', 'templateError', 'edit', 'pantherWriteback', 'silence', 'digest', 'reminder', 'loopError']);

/**
 * How long a delivery thread's metric calls wait to cross to the main thread together. Each batch wakes both
 * threads (about 0.16 ms of CPU per wake on a 2-vCPU VM): at 50 ms, 20 a second all through a backlog's drip,
 * most of the main thread's CPU while it had no webhook to answer.
 */
export const FORWARD_EVERY_MS = 250;

/** {@link DeliveryMetrics} that are forwarded in batches, and the way to send what is queued at once. */
export interface ForwardingMetrics extends DeliveryMetrics {
  /** Hands every queued call to `flush` now (call before the thread's port closes: a pending batch dies with it). */
  flushNow(): void;
}

/**
 * Metrics for a delivery thread: every call is queued and handed to `flush` at most every
 * {@link FORWARD_EVERY_MS}, so a burst of deliveries costs one message to the main thread per batch. Once per turn
 * of the event loop was still about one message per delivery (each answer arrives in its own turn), and a message
 * costs both threads a structured clone and a wake-up: ~0.1 ms of the delivery thread's CPU per delivery in the
 * issue-17 profile. /metrics lags by at most that interval, far below any scrape interval. The registry (and
 * /metrics) stays on the main thread, which applies them with {@link applyMetricEvents}.
 */
export function forwardingMetrics(flush: (events: MetricEvent[]) => void, everyMs = FORWARD_EVERY_MS): ForwardingMetrics {
  let queued: MetricEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flushNow = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (queued.length === 0) return;
    const events = queued;
    queued = [];
    flush(events);
  };
  const push = (event: MetricEvent) => {
    queued.push(event);
    // Unref'd: a pending batch never keeps a stopping thread alive (its stop flushes it).
    timer ??= setTimeout(flushNow, everyMs).unref();
  };
  return {
    flushNow,
    delivery: (...args) => push(['delivery', ...args]),
    templateError: (...args) => push(['templateError', ...args]),
    edit: (...args) => push(['edit', ...args]),
    pantherWriteback: (...args) => push(['pantherWriteback', ...args]),
    silence: (...args) => push(['silence', ...args]),
    digest: (...args) => push(['digest', ...args]),
    reminder: (...args) => push(['reminder', ...args]),
    loopError: (...args) => push(['loopError', ...args]),
  };
}

/**
 * Applies events a delivery thread forwarded to the main thread's metrics. Anything that is not a forwarded
 * method's call is skipped: the message came over a port, and a metric must never take the receiver down.
 */
export function applyMetricEvents(metrics: BridgeMetrics, events: readonly unknown[]): void {
  for (const event of events) {
    if (!Array.isArray(event) || typeof event[0] !== 'string' || !FORWARDED.has(event[0])) continue;
    const [method, ...args] = event as [keyof DeliveryMetrics, ...unknown[]];
    (metrics[method] as (...a: unknown[]) => void).apply(metrics, args);
  }
}
