/** Small statistics for the bench: medians of runs, percentiles of samples, peak counts per window. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(samples, p) {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The most events in any window of `windowMs` (times ascending or not). */
export function peakPerWindow(times, windowMs) {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** "median (min–max)" or the single value. */
export function fmt(values, digits = 0) {
  const f = (v) => v.toFixed(digits);
  if (values.length === 1) return f(values[0]);
  return `${f(median(values))} (${f(Math.min(...values))}–${f(Math.max(...values))})`;
}
