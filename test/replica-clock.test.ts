/**
 * The clock skew a replica records in `replicas` (issue 16, point 6): the tightest recent reading, and only the part
 * of it the reading is sure of, so a replica far from its database (or busy when it read the clock) still shows
 * its skew, never more than it is, instead of "not measured".
 */
import { betterReading, recordedSkew } from '../src/delivery/postgres/pg-replicas';

describe('a replica clock reading', () => {
  it('records the skew less half the round trip, towards zero, within the column', () => {
    expect(recordedSkew({ skewMs: 3500, rttMs: 4, at: 0 })).toBe(3498);
    expect(recordedSkew({ skewMs: -3500, rttMs: 400, at: 0 })).toBe(-3300);
    // A reading whose round trip is longer than twice the skew is sure of nothing.
    expect(recordedSkew({ skewMs: 150, rttMs: 800, at: 0 })).toBe(0);
    expect(recordedSkew({ skewMs: 40 * 86_400_000, rttMs: 2, at: 0 })).toBe(2_147_483_647);
    expect(recordedSkew({ skewMs: -40 * 86_400_000, rttMs: 2, at: 0 })).toBe(-2_147_483_647);
  });

  it('keeps the tightest reading of the last five minutes', () => {
    const tight = { skewMs: 3500, rttMs: 3, at: 1_000 };
    const loose = { skewMs: 3900, rttMs: 700, at: 6_000 };
    expect(betterReading(undefined, loose)).toBe(loose);
    expect(betterReading(tight, loose)).toBe(tight);
    expect(betterReading(loose, tight)).toBe(tight);
    // After five minutes the clock may have been stepped: the newest reading counts again.
    expect(betterReading(tight, { ...loose, at: 1_000 + 5 * 60_000 })).toEqual({ ...loose, at: 1_000 + 5 * 60_000 });
  });
});
