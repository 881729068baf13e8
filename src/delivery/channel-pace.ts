import type { ChannelPace } from './store-contract';

/** A channel's shared pace as the store keeps it (channel_pace on PostgreSQL). */
export interface PaceState {
  /** Start times (epoch ms) of the newest requests, oldest first, at most the policy's limit of them. */
  recent: number[];
  /** Until when a 429's Retry-After holds the channel. */
  holdUntil: number;
  /** After a 429 the channel is smoothed until `smoothUntil`: requests `windowMs / limit` apart (as pacer.ts does). */
  smoothUntil: number;
}

/** How long a channel stays smoothed after its last 429 (pacer.ts has the reasons). */
export const SHARED_SMOOTHING_MS = 10 * 60_000;

/**
 * One request slot of a channel whose state several processes share: `wait` 0 and the state with this request
 * recorded, or how long until a slot frees (the state unchanged). A sliding window of `limit` requests per
 * `windowMs`, a Retry-After hold, and even spacing while smoothed: the in-memory pacer's rules, on shared state.
 */
export function takeSlot(state: PaceState, pace: ChannelPace, now: number): { wait: number; next: PaceState } {
  if (state.holdUntil > now) return { wait: state.holdUntil - now, next: state };
  const limit = Math.max(1, pace.limit);
  const recent = state.recent.filter((at) => at > now - pace.windowMs).slice(-limit);
  if (recent.length >= limit) return { wait: recent[0]! + pace.windowMs - now, next: state };
  const last = recent.at(-1);
  const gap = pace.windowMs / limit;
  if (state.smoothUntil > now && last !== undefined && last + gap > now) return { wait: Math.ceil(last + gap - now), next: state };
  return { wait: 0, next: { ...state, recent: [...recent, now] } };
}

/** The state after a 429 that asks the channel to wait until `until`: held, then smoothed. */
export function holdSlot(state: PaceState, until: number, now: number): PaceState {
  return { ...state, holdUntil: Math.max(state.holdUntil, until), smoothUntil: Math.max(state.smoothUntil, now + SHARED_SMOOTHING_MS) };
}
