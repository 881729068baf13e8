'use strict';
/**
 * How the bench states a comparison with a peer (Alertmanager): always from the bridge's side, with the direction
 * in words and the two values it came from, so no one has to guess whether ×0.07 is good. CommonJS so that the
 * bench (ESM) and a unit test (jest, CommonJS) can both load it.
 */

/**
 * @param {{ measure: string, unit: string, better: 'more' | 'less', bridge: number, peer: number, peerName: string, digits?: number }} c
 *   `better`: whether more (a rate) or less (a time) is better for this measure.
 * @returns {string} e.g. "bridge 14.79× slower than Alertmanager (time until all delivered: 63.16 s vs 4.27 s; less is better)"
 */
function compareToPeer(c) {
  const digits = c.digits ?? 0;
  const value = (v) => `${v.toFixed(digits)}${c.unit ? ` ${c.unit}` : ''}`;
  const detail = `(${c.measure}: ${value(c.bridge)} vs ${value(c.peer)}; ${c.better} is better)`;
  if (!(c.bridge > 0 && c.peer > 0)) return `bridge not comparable with ${c.peerName} ${detail}`;
  // "faster" means better: more per second, or less time.
  const bridgeBetter = c.better === 'more' ? c.bridge > c.peer : c.bridge < c.peer;
  const factor = Math.max(c.bridge, c.peer) / Math.min(c.bridge, c.peer);
  if (factor.toFixed(2) === '1.00') return `bridge as fast as ${c.peerName} ${detail}`;
  return `bridge ${factor.toFixed(2)}× ${bridgeBetter ? 'faster' : 'slower'} than ${c.peerName} ${detail}`;
}

module.exports = { compareToPeer };
