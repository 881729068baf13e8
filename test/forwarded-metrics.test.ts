/**
 * A delivery thread's metric calls cross to the main thread in batches (src/observability/forwarded-metrics.ts):
 * many turns of the thread's loop cost one message, nothing is lost or reordered, and `flushNow` (the thread's stop)
 * sends what is queued at once.
 */
import { applyMetricEvents, forwardingMetrics, type MetricEvent } from '../src/observability/forwarded-metrics';
import { BridgeMetrics } from '../src/observability/metrics';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

it('batches calls made over many event-loop turns into one message, in order, and applies them', async () => {
  const batches: MetricEvent[][] = [];
  // An interval far longer than the test: only flushNow may send, so the count of messages is exact.
  const forwarding = forwardingMetrics((events) => batches.push(events), 60_000);
  for (let i = 0; i < 200; i++) {
    forwarding.delivery('soc-slack', i % 10 === 0 ? 'retry' : 'delivered', undefined, 0.01);
    await nextTurn(); // each answer of a platform arrives in its own turn
  }
  expect(batches).toHaveLength(0);
  forwarding.flushNow();
  expect(batches).toHaveLength(1);
  expect(batches[0]).toHaveLength(200);
  expect(batches[0]![0]).toEqual(['delivery', 'soc-slack', 'retry', undefined, 0.01]);

  const metrics = new BridgeMetrics(['panther'], ['soc-slack'], () => []);
  applyMetricEvents(metrics, batches[0]!);
  const text = await metrics.registry.metrics();
  expect(text).toMatch(/chatops_deliveries_total\{destination="soc-slack",outcome="delivered"[^}]*\} 180/);
  expect(text).toMatch(/chatops_deliveries_total\{destination="soc-slack",outcome="retry"[^}]*\} 20/);

  forwarding.flushNow(); // nothing queued: no empty message
  expect(batches).toHaveLength(1);
});

it('sends a batch by itself after the interval', async () => {
  const batches: MetricEvent[][] = [];
  const forwarding = forwardingMetrics((events) => batches.push(events), 5);
  forwarding.edit('soc-slack', 'edited');
  forwarding.loopError('delivery');
  while (batches.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(batches).toEqual([[['edit', 'soc-slack', 'edited'], ['loopError', 'delivery']]]);
});
