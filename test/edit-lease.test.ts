/**
 * The edit lease follows the request timeout (issue 16, point 5): an edit never starts so late in its lease that it
 * could outlive it, whatever `delivery.requestTimeoutMs` allows, so no second replica edits the same message too.
 */
import { editLeaseMarginMs, editLeaseMs } from '../src/triage/message-editor';

it('keeps one request and the record of its outcome between the last edit started and the lease end', () => {
  expect([editLeaseMs(10_000), editLeaseMarginMs(10_000)]).toEqual([60_000, 20_000]);
  // A 30 s timeout: a 40 s margin; the lease grows so a batch still has most of it to run in.
  expect([editLeaseMs(30_000), editLeaseMarginMs(30_000)]).toEqual([120_000, 40_000]);
  for (const timeout of [1, 2_000, 10_000, 45_000, 300_000]) {
    expect(editLeaseMs(timeout) - editLeaseMarginMs(timeout)).toBeGreaterThanOrEqual(2 * editLeaseMarginMs(timeout) - 1);
    expect(editLeaseMarginMs(timeout)).toBeGreaterThan(timeout);
  }
});
