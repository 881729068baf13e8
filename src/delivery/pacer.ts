import type { PacingPolicy } from '../domain/delivery';

/** Who asks for a channel's budget: the delivery worker's posts (and digests) or the message editor's edits. */
export type Lane = 'post' | 'edit';

/** One request in a channel's pace, from {@link Pacer.begin} to {@link Pacer.end}. */
export interface PaceTicket {
  readonly key: string;
  ended?: boolean;
}

/** What {@link Pacer.end} needs of a request's outcome (a SendOutcome fits). */
export interface PacedOutcome {
  kind: string;
  rateLimited?: boolean;
  retryAfterMs?: number;
  globalLimit?: boolean;
}

/** How long a channel stays smoothed after its last 429: long enough to cover a burst, short enough to recover. */
const SMOOTHING_MS = 10 * 60_000;

/**
 * Per-channel send pacing (sliding window) plus rate-limit holds from the platform's Retry-After. Keys are
 * channels, not destination names, so two destinations posting into one channel share its budget — and so do
 * posts and edits: one pacer per bridge serves the delivery worker and the message editor, and a platform counts
 * `chat.update` against the channel like `chat.postMessage`. Pure bookkeeping with explicit clocks: callers ask
 * when a key is ready and record each request; nothing here sleeps.
 *
 * A 429 means the channel cannot take the policy's bursts (another poster shares it, or the platform holds it to
 * an even rate, and without X-RateLimit headers nothing says so beforehand). After one, the channel is *smoothed*
 * for {@link SMOOTHING_MS}: sends are spaced evenly, `windowMs / limit` apart, instead of in bursts — the same
 * average rate, so a one-off 429 costs no throughput, and a platform that allows 5 per 5 s, or 1 per second, is not
 * refused again. (Learning a slower rate from the Retry-After was tried: a random 429 then slowed a healthy channel
 * below its traffic, and the soak's queue never drained.)
 *
 * Posts and edits take turns when both wait for a full channel: the lane that sent last yields the next slot to
 * the other one if that one said it is waiting ({@link want}). So a storm of resolves cannot hold new alerts back,
 * nor a burst of alerts the resolves, beyond every other slot.
 */
export class Pacer {
  private readonly sends = new Map<string, number[]>();
  private readonly holds = new Map<string, number>();
  private readonly smoothing = new Map<string, { gapMs: number; until: number }>();
  /** The lane of the newest request per key. */
  private readonly lastLane = new Map<string, Lane>();
  /** Per key and lane: when that lane last had due work and found no room (cleared when it sends). */
  private readonly wants = new Map<string, Map<Lane, number>>();
  /** Requests begun and not ended, per key: each counts as a send that is still happening now. */
  private readonly inFlight = new Map<string, number>();

  /**
   * Earliest epoch ms at which one more request to `key` stays within `policy` and any hold. With a `lane`, it
   * also waits its turn: one pace gap more when this lane sent last and the other lane is waiting.
   */
  readyAt(key: string, policy: PacingPolicy, now = Date.now(), lane?: Lane): number {
    const hold = this.holds.get(key) ?? 0;
    // A request in flight has not ended yet: it counts as a send at `now`, so the next one waits for its end.
    const recent = [...this.prune(key, policy, now), ...Array<number>(this.inFlight.get(key) ?? 0).fill(now)];
    const windowFree = recent.length < policy.limit ? now : recent[recent.length - policy.limit]! + policy.windowMs;
    const smooth = this.smoothing.get(key);
    let evenFree = now;
    if (smooth && smooth.until <= now) this.smoothing.delete(key);
    else if (smooth && recent.length > 0) evenFree = recent[recent.length - 1]! + smooth.gapMs;
    const ready = Math.max(now, hold, windowFree, evenFree);
    return lane && this.yields(key, lane, policy, now) ? ready + gapOf(policy) : ready;
  }

  /**
   * `lane` has due work for `key` that the pace does not let through at `now`: the other lane yields it the next
   * slot. A want lapses once the lane sends, or one window and gap after it was last said (the work went away).
   */
  want(key: string, lane: Lane, now = Date.now()): void {
    let wants = this.wants.get(key);
    if (!wants) this.wants.set(key, (wants = new Map()));
    wants.set(lane, now);
  }

  /**
   * A request to `key` starts: until it ends it counts as a send happening now, and it takes `lane`'s turn.
   * Finish it with {@link end}.
   */
  begin(key: string, lane: Lane): PaceTicket {
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    this.lastLane.set(key, lane);
    this.wants.get(key)?.delete(lane);
    return { key };
  }

  /**
   * The request is over: it counts from its end (so the platform sees the next one at least a window after this
   * one finished). A 429 holds the channel — for both lanes — until the Retry-After (or one window when none was
   * stated) and smooths it; a refused request used none of the budget. A global limit (Discord's 50 requests/s per
   * bot) holds the channel but teaches nothing about it.
   */
  end(ticket: PaceTicket, outcome: PacedOutcome, policy: PacingPolicy, now = Date.now()): void {
    if (ticket.ended) return;
    ticket.ended = true;
    const open = (this.inFlight.get(ticket.key) ?? 1) - 1;
    if (open > 0) this.inFlight.set(ticket.key, open);
    else this.inFlight.delete(ticket.key);
    if (outcome.kind !== 'retryable' || !outcome.rateLimited) {
      this.insert(ticket.key, now);
      return;
    }
    const until = now + (outcome.retryAfterMs ?? policy.windowMs);
    if (outcome.globalLimit) {
      this.insert(ticket.key, now);
      this.hold(ticket.key, until);
    } else {
      this.hold(ticket.key, until);
      this.smooth(ticket.key, policy, now);
    }
  }

  /** Runs one request to `key` between {@link begin} and {@link end} (ended as a failure when it throws). */
  async request<T extends PacedOutcome>(key: string, policy: PacingPolicy, lane: Lane, send: () => Promise<T>): Promise<T> {
    const ticket = this.begin(key, lane);
    let outcome: T | undefined;
    try {
      outcome = await send();
      return outcome;
    } finally {
      this.end(ticket, outcome ?? { kind: 'error' }, policy);
    }
  }

  /** Records a send (a request that reached, or may have reached, the platform), outside any lane. */
  record(key: string, now = Date.now()): void {
    this.insert(key, now);
  }

  /** Holds every send to `key` until `until` (a 429's Retry-After applies to the channel, not one message). */
  hold(key: string, until: number): void {
    if (until > (this.holds.get(key) ?? 0)) this.holds.set(key, until);
  }

  /**
   * A send to `key` was refused by the channel's rate limit, to be retried no earlier than `until`: holds the
   * channel and smooths it. Call right after {@link record} of the refused send.
   */
  rateLimited(key: string, until: number, policy: PacingPolicy, now = Date.now()): void {
    this.hold(key, until);
    // The refused request used none of the channel's budget: forget it, so only sends that went through pace.
    this.sends.get(key)?.pop();
    this.smooth(key, policy, now);
  }

  private smooth(key: string, policy: PacingPolicy, now: number): void {
    this.smoothing.set(key, { gapMs: gapOf(policy), until: now + SMOOTHING_MS });
  }

  /** This lane sent last and the other lane has been waiting since (recently enough to still mean it). */
  private yields(key: string, lane: Lane, policy: PacingPolicy, now: number): boolean {
    if (this.lastLane.get(key) !== lane) return false;
    const other: Lane = lane === 'post' ? 'edit' : 'post';
    const since = this.wants.get(key)?.get(other);
    return since !== undefined && now - since <= policy.windowMs + gapOf(policy);
  }

  private insert(key: string, at: number): void {
    const list = this.sends.get(key) ?? [];
    let i = list.length;
    while (i > 0 && list[i - 1]! > at) i--;
    list.splice(i, 0, at);
    this.sends.set(key, list);
  }

  private prune(key: string, policy: PacingPolicy, now: number): number[] {
    const list = this.sends.get(key);
    if (!list) return [];
    const keepFrom = list.findIndex((at) => at > now - policy.windowMs);
    const kept = keepFrom === -1 ? [] : list.slice(Math.max(keepFrom, list.length - policy.limit));
    if (kept.length === 0) this.sends.delete(key);
    else this.sends.set(key, kept);
    const hold = this.holds.get(key);
    if (hold !== undefined && hold <= now) this.holds.delete(key);
    return kept;
  }
}

/** The even spacing of a pace: one request every `windowMs / limit`. */
function gapOf(policy: PacingPolicy): number {
  return policy.windowMs / policy.limit;
}
