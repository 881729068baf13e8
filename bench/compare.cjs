'use strict';
/**
 * How the bench states a comparison with a peer (Alertmanager): always from the bridge's side, with the direction
 * in words and the two values it came from, so no one has to guess whether ×0.07 is good. CommonJS so that the
 * bench (ESM) and a unit test (jest, CommonJS) can both load it.
 */

/**
 * @param {{ measure: string, unit: string, better: 'more' | 'less', bridge: number, peer: number, peerName: string, digits?: number, wording?: 'speed' | 'amount' }} c
 *   `better`: whether more (a rate) or less (a time) is better for this measure. `wording`: 'speed' (the default)
 *   says faster or slower; 'amount' (memory, CPU at rest) says more or less.
 * @returns {string} e.g. "bridge 14.79× slower than Alertmanager (time until all delivered: 63.16 s vs 4.27 s; less is better)",
 *   "bridge 3.35× more than Alertmanager (idle RSS: 107 MB vs 32 MB; less is better)"
 */
function compareToPeer(c) {
  const digits = c.digits ?? 0;
  const value = (v) => `${v.toFixed(digits)}${c.unit ? ` ${c.unit}` : ''}`;
  const detail = `(${c.measure}: ${value(c.bridge)} vs ${value(c.peer)}; ${c.better} is better)`;
  // A peer that used none of it (an idle Go process's CPU): the amount itself says it; a ratio would not.
  if (c.wording === 'amount' && c.bridge > 0 && c.peer === 0) return `bridge ${value(c.bridge)} where ${c.peerName} needs none ${detail}`;
  if (!(c.bridge > 0 && c.peer > 0)) return `bridge not comparable with ${c.peerName} ${detail}`;
  if (c.wording === 'amount') {
    const factor = Math.max(c.bridge, c.peer) / Math.min(c.bridge, c.peer);
    if (factor.toFixed(2) === '1.00') return `bridge as much as ${c.peerName} ${detail}`;
    return `bridge ${factor.toFixed(2)}× ${c.bridge > c.peer ? 'more' : 'less'} than ${c.peerName} ${detail}`;
  }
  // "faster" means better: more per second, or less time.
  const bridgeBetter = c.better === 'more' ? c.bridge > c.peer : c.bridge < c.peer;
  const factor = Math.max(c.bridge, c.peer) / Math.min(c.bridge, c.peer);
  if (factor.toFixed(2) === '1.00') return `bridge as fast as ${c.peerName} ${detail}`;
  return `bridge ${factor.toFixed(2)}× ${bridgeBetter ? 'faster' : 'slower'} than ${c.peerName} ${detail}`;
}

/**
 * A configuration's measure as a multiple of the baseline's, with the verdict and the direction in words, e.g.
 * "×0.80 of SQLite's accepted alerts/s: worse (more is better)". Used for the store configurations of one run.
 * @param {{ measure: string, better: 'more' | 'less', value: number, baseline: number, baselineName: string }} c
 * @returns {string}
 */
function ratioToBaseline(c) {
  if (!(c.value > 0 && c.baseline > 0)) return `not comparable with ${c.baselineName}'s ${c.measure}`;
  const ratio = c.value / c.baseline;
  const verdict = ratio.toFixed(2) === '1.00' ? 'the same' : (c.better === 'more') === ratio > 1 ? 'better' : 'worse';
  return `×${ratio.toFixed(2)} of ${c.baselineName}'s ${c.measure}: ${verdict} (${c.better} is better)`;
}

module.exports = { compareToPeer, ratioToBaseline };
