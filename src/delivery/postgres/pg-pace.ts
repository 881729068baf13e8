import { endSlot, holdSlot, lastEnded, takeSlot, type PaceState } from '../channel-pace';
import type { ChannelPace } from '../store-contract';
import type { PgSession } from './pg-session';
import { toPgText } from './pg-text';

interface PaceRow {
  recent_sends: number[];
  retry_after_until: number;
  smooth_until: number;
}

/** The channel's row, created when missing and locked for this transaction: every replica waits its turn on it. */
async function lockPace(s: PgSession, key: string): Promise<PaceState> {
  await s.query(`INSERT INTO channel_pace (pacing_key) VALUES ($1) ON CONFLICT (pacing_key) DO NOTHING`, [toPgText(key)]);
  const row = (await s.query<PaceRow>(`SELECT recent_sends, retry_after_until, smooth_until FROM channel_pace WHERE pacing_key = $1 FOR UPDATE`, [toPgText(key)])).rows[0]!;
  return { recent: row.recent_sends.map(Number), holdUntil: row.retry_after_until, smoothUntil: row.smooth_until };
}

async function savePace(s: PgSession, key: string, state: PaceState, now: number): Promise<void> {
  await s.query(
    `UPDATE channel_pace SET recent_sends = $2::bigint[], retry_after_until = $3, smooth_until = $4, next_allowed_at = $5, updated_at = $6 WHERE pacing_key = $1`,
    [toPgText(key), state.recent, state.holdUntil, state.smoothUntil, lastEnded(state), now],
  );
}

/**
 * Takes a slot of the channel's pace for a request this replica makes now (channel-pace.ts has the rules), inside
 * the caller's transaction: 0 when taken, else the ms until one may be. The row lock makes replicas take turns.
 * The request counts as in flight until {@link endChannel} records its end.
 */
export async function takeChannel(session: PgSession, pace: ChannelPace, now: number): Promise<number> {
  return session.atomic(async (s) => {
    const { wait, next } = takeSlot(await lockPace(s, pace.key), pace, now);
    if (wait === 0) await savePace(s, pace.key, next, now);
    return wait;
  });
}

/** Holds the channel for every replica until `until` (a 429's Retry-After), and smooths it afterwards. */
export async function holdChannel(session: PgSession, key: string, until: number, now: number): Promise<void> {
  await session.atomic(async (s) => savePace(s, key, holdSlot(await lockPace(s, key), until, now), now));
}

/** The request that took a slot of `key` at `takenAt` ended at `endedAt` (or, without it, was never made). */
export async function endChannel(session: PgSession, key: string, takenAt: number, endedAt?: number): Promise<void> {
  await session.atomic(async (s) => savePace(s, key, endSlot(await lockPace(s, key), takenAt, endedAt), endedAt ?? takenAt));
}
