/** The pacer's arithmetic, with explicit clocks: windows, holds, and what a 429 teaches about a channel. */
import { Pacer } from '../src/delivery/pacer';

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
