/** The bench's comparison lines state the direction from the bridge's side, computed the right way round. */
import { compareToPeer, ratioToBaseline } from '../bench/compare.cjs';

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

  it('an amount (memory, CPU at rest) is "more" or "less", not faster or slower', () => {
    expect(compareToPeer({ ...AM, measure: 'idle RSS', unit: 'MB', better: 'less', bridge: 107, peer: 32, wording: 'amount' })).toBe(
      'bridge 3.34× more than Alertmanager (idle RSS: 107 MB vs 32 MB; less is better)',
    );
    expect(compareToPeer({ ...AM, measure: 'idle CPU', unit: 'ms/s', better: 'less', bridge: 0.5, peer: 1, digits: 1, wording: 'amount' })).toMatch(/^bridge 2\.00× less than Alertmanager/);
    expect(compareToPeer({ ...AM, measure: 'idle CPU', unit: 'ms/s', better: 'less', bridge: 6.2, peer: 0, digits: 1, wording: 'amount' })).toBe(
      'bridge 6.2 ms/s where Alertmanager needs none (idle CPU: 6.2 ms/s vs 0.0 ms/s; less is better)',
    );
  });
});

describe('ratioToBaseline', () => {
  const SQLITE = { baselineName: 'SQLite' };

  it('a lower rate is worse and a lower CPU cost is better, each with its direction in words', () => {
    expect(ratioToBaseline({ ...SQLITE, measure: 'accepted alerts/s', better: 'more', value: 600, baseline: 750 })).toBe(
      "×0.80 of SQLite's accepted alerts/s: worse (more is better)",
    );
    expect(ratioToBaseline({ ...SQLITE, measure: 'CPU per accepted alert', better: 'less', value: 6, baseline: 10 })).toBe(
      "×0.60 of SQLite's CPU per accepted alert: better (less is better)",
    );
  });

  it('a higher rate is better and a higher CPU cost is worse', () => {
    expect(ratioToBaseline({ ...SQLITE, measure: 'accepted alerts/s', better: 'more', value: 900, baseline: 750 })).toMatch(/^×1\.20 .*: better \(more is better\)$/);
    expect(ratioToBaseline({ ...SQLITE, measure: 'CPU per accepted alert', better: 'less', value: 25, baseline: 10 })).toMatch(/^×2\.50 .*: worse \(less is better\)$/);
  });

  it('says so when there is no difference or nothing to compare', () => {
    expect(ratioToBaseline({ ...SQLITE, measure: 'x', better: 'more', value: 100, baseline: 100.1 })).toMatch(/^×1\.00 of SQLite's x: the same/);
    expect(ratioToBaseline({ ...SQLITE, measure: 'x', better: 'less', value: 0, baseline: 3 })).toBe("not comparable with SQLite's x");
  });
});
