import type { ChannelPace } from './store-contract';

/** A channel's shared pace as the store keeps it (channel_pace on PostgreSQL). */
export interface PaceState {
  /**
   * The channel's newest requests: the end time (epoch ms) of each that has ended, and minus the start time of
   * each still in flight (a negative entry). A request counts from its end, as this process's pacer (pacer.ts)
   * counts it: the platform counts a request when it gets there, which may be well after it was sent, so a pace
   * counting from the start let another replica's next request arrive inside the window. Until it ends, a request
   * counts as one happening now.
   */
  recent: number[];
  /** Until when a 429's Retry-After holds the channel. */
  holdUntil: number;
  /** After a 429 the channel is smoothed until `smoothUntil`: requests `windowMs / limit` apart (as pacer.ts does). */
  smoothUntil: number;
}

/** How long a channel stays smoothed after its last 429 (pacer.ts has the reasons). */
export const SHARED_SMOOTHING_MS = 10 * 60_000;

/**
 * How long after its start a request whose end was never recorded stops counting as in flight: its process died
 * or lost the store meanwhile. Its channel is then free again; a live request ends long before (the platforms'
 * request timeout is 10 s by default).
 */
export const SHARED_IN_FLIGHT_MAX_MS = 15_000;

const inFlight = (entry: number): boolean => entry < 0;

/**
 * One request slot of a channel whose state several processes share: `wait` 0 and the state with this request
 * recorded as in flight (started `now`; {@link endSlot} records its end), or how long until a slot frees (the
 * state unchanged; while a request in flight fills the window, a window, as pacer.ts answers). A sliding window of
 * `limit` requests per `windowMs`, a Retry-After hold, and even spacing while smoothed: the in-memory pacer's rules,
 * on shared state.
 */
export function takeSlot(state: PaceState, pace: ChannelPace, now: number): { wait: number; next: PaceState } {
  if (state.holdUntil > now) return { wait: state.holdUntil - now, next: state };
  const limit = Math.max(1, pace.limit);
  const ended = state.recent.filter((at) => !inFlight(at) && at > now - pace.windowMs).sort((x, y) => x - y);
  const flying = state.recent.filter((at) => inFlight(at) && -at > now - SHARED_IN_FLIGHT_MAX_MS);
  const counted = [...ended, ...flying.map(() => now)];
  if (counted.length >= limit) return { wait: Math.max(1, counted[counted.length - limit]! + pace.windowMs - now), next: state };
  const last = counted.at(-1);
  const gap = pace.windowMs / limit;
  if (state.smoothUntil > now && last !== undefined && last + gap > now) return { wait: Math.ceil(last + gap - now), next: state };
  return { wait: 0, next: { ...state, recent: [...ended.slice(-limit), ...flying, -now] } };
}

/**
 * The request that took a slot at `takenAt` ({@link takeSlot}'s `now`) ended at `endedAt`: from now on it counts
 * from its end. Without `endedAt` it was never made, and its slot is free again.
 */
export function endSlot(state: PaceState, takenAt: number, endedAt?: number): PaceState {
  const recent = [...state.recent];
  const i = recent.indexOf(-takenAt);
  if (i !== -1) recent.splice(i, 1);
  // Recorded also when the in-flight entry is gone (it outlived SHARED_IN_FLIGHT_MAX_MS): the request was made.
  if (endedAt !== undefined) recent.push(endedAt);
  return { ...state, recent };
}

/** When the channel's newest ended request ended (0: none), for operators reading the row. */
export function lastEnded(state: PaceState): number {
  return Math.max(0, ...state.recent.filter((at) => !inFlight(at)));
}

/** The state after a 429 that asks the channel to wait until `until`: held, then smoothed. */
export function holdSlot(state: PaceState, until: number, now: number): PaceState {
  return { ...state, holdUntil: Math.max(state.holdUntil, until), smoothUntil: Math.max(state.smoothUntil, now + SHARED_SMOOTHING_MS) };
}
