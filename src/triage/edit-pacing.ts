import type { Pacer } from '../delivery/pacer';
import type { PacingPolicy } from '../domain/delivery';

/**
 * The message editor's side of a channel's pace: whether an edit may go now, and when edits that found no room
 * should come back. Edits share the channel's budget with posts (one {@link Pacer} per bridge), so a storm of
 * resolves or clicks is paced like posts; a deferred edit is not a failed attempt. Pure decisions over the pacer
 * with explicit clocks, so they are tested without timing.
 */
export class EditPacing {
  /** Per channel: the latest time handed to a deferred edit, so a storm is spread over the pace. */
  private readonly queuedUntil = new Map<string, number>();

  constructor(private readonly pacer: Pacer) {}

  /** True when an edit to channel `key` may be sent at `now`: the pace has room and it is the edits' turn. */
  ready(key: string, policy: PacingPolicy, now: number): boolean {
    return this.pacer.readyAt(key, policy, now, 'edit') <= now;
  }

  /**
   * When each of `count` edits to `key`, oldest first, that found no room at `now` should be tried again: the
   * channel's next slot, then one pace gap apart, after the edits of this channel deferred earlier — not all at the
   * same instant (each would wake the editor to be deferred again). Also tells the pacer edits are waiting, so the
   * worker's posts leave the channel every other slot to them.
   */
  defer(key: string, policy: PacingPolicy, count: number, now: number): number[] {
    this.pacer.want(key, 'edit', now);
    const gap = policy.windowMs / policy.limit;
    const queued = this.queuedUntil.get(key);
    let at = Math.max(this.pacer.readyAt(key, policy, now, 'edit'), queued !== undefined && queued >= now ? queued + gap : 0);
    const times: number[] = [];
    for (let i = 0; i < count; i++, at += gap) times.push(Math.ceil(at));
    if (count > 0) this.queuedUntil.set(key, times[count - 1]!);
    return times;
  }
}
