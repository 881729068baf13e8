import type { BridgeMetrics, DeliveryMetrics } from './metrics';

/** One call of a {@link DeliveryMetrics} method, as it crosses from a delivery thread to the main thread. */
export type MetricEvent = { [K in keyof DeliveryMetrics]: [K, ...Parameters<DeliveryMetrics[K]>] }[keyof DeliveryMetrics];

const FORWARDED: ReadonlySet<string> = new Set<keyof DeliveryMetrics>(['delivery', 'templateError', 'edit', 'pantherWriteback', 'silence', 'digest', 'reminder', 'loopError']);

/**
 * Metrics for a delivery thread: every call is queued and handed to `flush` once per turn of the thread's event
 * loop, so a burst of deliveries costs one message to the main thread, not one per counter. The registry (and
 * /metrics) stays on the main thread, which applies them with {@link applyMetricEvents}.
 */
export function forwardingMetrics(flush: (events: MetricEvent[]) => void): DeliveryMetrics {
  let queued: MetricEvent[] = [];
  const push = (event: MetricEvent) => {
    if (queued.length === 0) {
      setImmediate(() => {
        const events = queued;
        queued = [];
        flush(events);
      });
    }
    queued.push(event);
  };
  return {
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
