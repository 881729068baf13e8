/**
 * Preloaded into a child process (`NODE_OPTIONS=--require …/clock-skew.cjs`, CB_TEST_CLOCK_SKEW_MS=5000) to give it
 * a clock that many milliseconds ahead (negative: behind) of the machine's, as a replica on a host whose clock
 * drifted would have. Only Date.now() moves, which is the clock the bridge stamps leases and checks skew with.
 */
const skew = Number(process.env.CB_TEST_CLOCK_SKEW_MS ?? 0);
if (skew !== 0) {
  const now = Date.now;
  Date.now = () => now() + skew;
}
