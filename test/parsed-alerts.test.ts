import { ParsedAlerts } from '../src/delivery/parsed-alerts';

describe('ParsedAlerts', () => {
  const json = (title: string, pad = 0) => JSON.stringify({ title, pad: 'x'.repeat(pad) });

  it('parses an alert row once for every claim of the same stored text', () => {
    const cache = new ParsedAlerts();
    const first = cache.get(1, json('a'));
    expect(cache.get(1, json('a'))).toBe(first);
    expect(first).toEqual({ title: 'a', pad: '' });
  });

  it('parses again when the row was rewritten (a resolved alert) and never mixes rows', () => {
    const cache = new ParsedAlerts();
    const firing = cache.get(1, json('firing'));
    const resolved = cache.get(1, json('resolved'));
    expect(resolved).not.toBe(firing);
    expect(resolved).toMatchObject({ title: 'resolved' });
    expect(cache.get(2, json('resolved'))).not.toBe(resolved);
    expect(cache.get(1, json('resolved'))).toBe(resolved);
  });

  it('keeps at most 256 alerts and 4 MB of their text, and no single alert over 256 KB', () => {
    const cache = new ParsedAlerts();
    const big = cache.get(1, json('big', 300 * 1024));
    expect(cache.get(1, json('big', 300 * 1024))).not.toBe(big);
    const first = cache.get(2, json('first'));
    for (let row = 3; row < 3 + 256; row++) cache.get(row, json(`r${row}`));
    expect(cache.get(2, json('first'))).not.toBe(first);
    const kept = cache.get(1000, json('kept', 200 * 1024));
    for (let row = 1001; row < 1001 + 20; row++) cache.get(row, json(`large${row}`, 200 * 1024));
    expect(cache.get(1000, json('kept', 200 * 1024))).not.toBe(kept);
  });
});
