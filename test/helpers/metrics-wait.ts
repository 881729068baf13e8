/**
 * /metrics of a running `serve` once `ready` holds of its text (or after `timeoutMs`, so the caller's assertion
 * shows what it had). A delivery thread forwards its metric calls to the main thread in batches (every 50 ms,
 * src/observability/forwarded-metrics.ts), so a count it keeps lags what the fakes and the store already show.
 */
export async function metricsOnceForwarded(url: string, ready: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    if (ready(text) || Date.now() > deadline) return text;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
