/** The bench's comparison lines state the direction from the bridge's side, computed the right way round. */
import { compareToPeer } from '../bench/compare.cjs';

const AM = { peerName: 'Alertmanager' };

describe('compareToPeer', () => {
  it('a time the bridge needs 14.8× longer for is "slower"', () => {
    expect(compareToPeer({ ...AM, measure: 'time until all delivered', unit: 's', better: 'less', bridge: 63.16, peer: 4.27, digits: 2 })).toBe(
      'bridge 14.79× slower than Alertmanager (time until all delivered: 63.16 s vs 4.27 s; less is better)',
    );
  });

  it('a shorter time is "faster", a higher rate is "faster", a lower rate is "slower"', () => {
    expect(compareToPeer({ ...AM, measure: 'arrival p99', unit: 'ms', better: 'less', bridge: 20, peer: 400, digits: 1 })).toBe(
      'bridge 20.00× faster than Alertmanager (arrival p99: 20.0 ms vs 400.0 ms; less is better)',
    );
    expect(compareToPeer({ ...AM, measure: 'accepted alerts/s', unit: '/s', better: 'more', bridge: 755, peer: 711 })).toBe(
      'bridge 1.06× faster than Alertmanager (accepted alerts/s: 755 /s vs 711 /s; more is better)',
    );
    expect(compareToPeer({ ...AM, measure: 'accepted alerts/s', unit: '/s', better: 'more', bridge: 300, peer: 600 })).toMatch(/^bridge 2\.00× slower than Alertmanager/);
  });

  it('says so when there is no difference or nothing to compare', () => {
    expect(compareToPeer({ ...AM, measure: 'x', unit: '', better: 'more', bridge: 100, peer: 100.1 })).toMatch(/^bridge as fast as Alertmanager/);
    expect(compareToPeer({ ...AM, measure: 'x', unit: '', better: 'less', bridge: 0, peer: 3 })).toMatch(/^bridge not comparable with Alertmanager/);
  });
});
