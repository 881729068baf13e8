/** The pacer's arithmetic, with explicit clocks: windows, holds, and what a 429 teaches about a channel. */
import { Pacer } from '../src/delivery/pacer';
import { EditPacing } from '../src/triage/edit-pacing';

const discordPace = { limit: 5, windowMs: 5000 };

describe('Pacer', () => {
  it('allows a burst up to the policy, then waits for the window', () => {
    const pacer = new Pacer();
    for (let i = 0; i < 5; i++) pacer.record('c', 1000 + i);
    expect(pacer.readyAt('c', discordPace, 1010)).toBe(6000);
  });

  it('after a 429 one second after the last success, spaces sends one second apart instead of bursting', () => {
    const pacer = new Pacer();
    pacer.record('c', 0); // went through
    pacer.record('c', 10); // refused: the channel is held to 1 per second
    pacer.rateLimited('c', 1000, discordPace, 10);
    expect(pacer.readyAt('c', discordPace, 20)).toBe(1000);
    pacer.record('c', 1000);
    // Without smoothing the 5-per-5 s window would allow the next send at once.
    expect(pacer.readyAt('c', discordPace, 1001)).toBe(2000);
  });

  it('after a 5-per-5 s bucket refuses the sixth, sends one per second: the same average rate without the burst', () => {
    const pacer = new Pacer();
    for (const at of [0, 250, 500, 750, 1000]) pacer.record('c', at);
    pacer.record('c', 1010); // refused, bucket resets at 5000
    pacer.rateLimited('c', 5000, discordPace, 1010);
    pacer.readyAt('c', discordPace, 5000);
    pacer.record('c', 5000);
    expect(pacer.readyAt('c', discordPace, 5001)).toBe(6000);
  });

  it('a hold alone (a global limit) leaves the channel free to burst once it ends', () => {
    const pacer = new Pacer();
    pacer.record('c', 0);
    pacer.hold('c', 70);
    expect(pacer.readyAt('c', discordPace, 10)).toBe(70);
    pacer.record('c', 70);
    expect(pacer.readyAt('c', discordPace, 71)).toBe(71);
  });

  it('forgets the smoothing ten minutes after the last 429', () => {
    const pacer = new Pacer();
    pacer.record('c', 0);
    pacer.record('c', 10);
    pacer.rateLimited('c', 1000, discordPace, 10);
    const later = 10 + 10 * 60_000 + 1;
    pacer.record('c', later);
    expect(pacer.readyAt('c', discordPace, later + 1)).toBe(later + 1);
  });
});

const slackPace = { limit: 1, windowMs: 1000 };

describe('Pacer: posts and edits share a channel', () => {
  it('counts an edit against the posts of its channel, from the end of the request', () => {
    const pacer = new Pacer();
    const edit = pacer.begin('C1', 'edit');
    // In flight, it takes the slot until it ends (and a window after that).
    expect(pacer.readyAt('C1', slackPace, 10, 'post')).toBe(1010);
    expect(pacer.readyAt('C1', slackPace, 30, 'post')).toBe(1030);
    pacer.end(edit, { kind: 'ok' }, slackPace, 40);
    expect(pacer.readyAt('C1', slackPace, 50, 'post')).toBe(1040);
    expect(pacer.readyAt('C2', slackPace, 50, 'post')).toBe(50);
  });

  it('a 429 on an edit holds the channel for posts, and a 429 on a post holds it for edits', () => {
    const pacer = new Pacer();
    pacer.end(pacer.begin('C1', 'edit'), { kind: 'retryable', rateLimited: true, retryAfterMs: 3000 }, slackPace, 20);
    expect(pacer.readyAt('C1', slackPace, 30, 'post')).toBe(3020);
    pacer.end(pacer.begin('C2', 'post'), { kind: 'retryable', rateLimited: true, retryAfterMs: 2000 }, slackPace, 10);
    expect(pacer.readyAt('C2', slackPace, 30, 'edit')).toBe(2010);
  });

  it('a refused request uses none of the budget; a global limit holds without smoothing', () => {
    const pacer = new Pacer();
    pacer.end(pacer.begin('c', 'post'), { kind: 'ok' }, discordPace, 0);
    pacer.end(pacer.begin('c', 'edit'), { kind: 'retryable', rateLimited: true, retryAfterMs: 100, globalLimit: true }, discordPace, 10);
    expect(pacer.readyAt('c', discordPace, 20)).toBe(110);
    // Two sends in the window (the global 429 counted, as Discord did see it), three more fit at once.
    for (let i = 0; i < 3; i++) pacer.record('c', 110);
    expect(pacer.readyAt('c', discordPace, 110)).toBe(5000);
  });

  it('takes turns when both lanes wait for a full channel: the lane that sent last yields the next slot', () => {
    const pacer = new Pacer();
    pacer.end(pacer.begin('C1', 'post'), { kind: 'ok' }, slackPace, 0);
    // Edits are due but the channel is full: they say so.
    expect(pacer.readyAt('C1', slackPace, 100, 'edit')).toBe(1000);
    pacer.want('C1', 'edit', 100);
    // At 1000 the posts, which sent last, wait one more gap; the edit goes.
    expect(pacer.readyAt('C1', slackPace, 1000, 'post')).toBe(2000);
    expect(pacer.readyAt('C1', slackPace, 1000, 'edit')).toBe(1000);
    pacer.want('C1', 'post', 1000);
    pacer.end(pacer.begin('C1', 'edit'), { kind: 'ok' }, slackPace, 1000);
    // Now the edits yield to the waiting posts.
    expect(pacer.readyAt('C1', slackPace, 2000, 'edit')).toBe(3000);
    expect(pacer.readyAt('C1', slackPace, 2000, 'post')).toBe(2000);
  });

  it('a lane that stops asking loses its turn after one window and gap: the other is not held forever', () => {
    const pacer = new Pacer();
    pacer.end(pacer.begin('C1', 'post'), { kind: 'ok' }, slackPace, 0);
    pacer.want('C1', 'edit', 100); // …and the edits never come back (their rows were purged, say)
    expect(pacer.readyAt('C1', slackPace, 1000, 'post')).toBe(2000);
    expect(pacer.readyAt('C1', slackPace, 2101, 'post')).toBe(2101);
  });

  it('neither lane starves: two backlogs asking every millisecond alternate slot by slot', () => {
    const pacer = new Pacer();
    const backlog = { post: 6, edit: 6 };
    const order: string[] = [];
    for (let now = 0; now < 20_000 && backlog.post + backlog.edit > 0; now++) {
      // Posts ask first every time: without turns they would take every slot until their backlog is gone.
      for (const lane of ['post', 'edit'] as const) {
        if (backlog[lane] === 0) continue;
        if (pacer.readyAt('C1', slackPace, now, lane) > now) {
          pacer.want('C1', lane, now);
          continue;
        }
        pacer.end(pacer.begin('C1', lane), { kind: 'ok' }, slackPace, now);
        backlog[lane]--;
        order.push(lane);
      }
    }
    expect(order).toEqual(['post', 'edit', 'post', 'edit', 'post', 'edit', 'post', 'edit', 'post', 'edit', 'post', 'edit']);
  });
});

describe('EditPacing: what the editor does with a channel that has no room', () => {
  it('edits go only when the channel has room; the rest are spread over its next slots, after earlier ones', () => {
    const pacer = new Pacer();
    const pacing = new EditPacing(pacer);
    expect(pacing.ready('C1', slackPace, 0)).toBe(true);
    pacer.end(pacer.begin('C1', 'edit'), { kind: 'ok' }, slackPace, 0);
    expect(pacing.ready('C1', slackPace, 10)).toBe(false);
    expect(pacing.defer('C1', slackPace, 3, 10)).toEqual([1000, 2000, 3000]);
    // Two more stale messages of the same channel, found in the next pass, queue up behind those.
    expect(pacing.defer('C1', slackPace, 2, 20)).toEqual([4000, 5000]);
    // Another channel is not affected.
    expect(pacing.ready('C2', slackPace, 20)).toBe(true);
  });

  it('deferring says the edits are waiting, so the posts give them the next slot', () => {
    const pacer = new Pacer();
    const pacing = new EditPacing(pacer);
    pacer.end(pacer.begin('C1', 'post'), { kind: 'ok' }, slackPace, 0);
    expect(pacing.defer('C1', slackPace, 1, 10)).toEqual([1000]);
    expect(pacer.readyAt('C1', slackPace, 1000, 'post')).toBe(2000);
    expect(pacing.ready('C1', slackPace, 1000)).toBe(true);
  });
});
