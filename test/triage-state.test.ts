import { foldTriage, parseTriageButtonId, triageButtonId, triageLines, buttonsFor, type TriageActor, type TriageEvent } from '../src/triage/state';
import { isFresh, ReplayCache } from '../src/triage/request-guard';
import { discordPublicKey, verifyDiscordSignature } from '../src/triage/discord-interactions';
import { discordKeys } from './helpers/interactions';
import { loadConfigText } from '../src/config/load';

const alice = { platform: 'slack' as const, id: 'U1', name: 'alice' };
const bob = { platform: 'discord' as const, id: '2', name: 'bob' };
const at = Date.UTC(2026, 10, 28, 14, 2);
const ev = (seq: number, action: TriageEvent['action'], actor: TriageActor = alice): TriageEvent => ({ seq, action, actor, at });

describe('foldTriage', () => {
  it('is open with nothing recorded', () => {
    expect(foldTriage([])).toEqual({ status: 'open', events: [], threadReplies: 0 });
  });
  it('lets the last status action win, by sequence not by arrival order', () => {
    expect(foldTriage([ev(2, 'acknowledge'), ev(1, 'resolve', bob)]).status).toBe('acknowledged');
    expect(foldTriage([ev(1, 'acknowledge'), ev(2, 'resolve', bob)]).status).toBe('resolved');
  });
  it('keeps the assignee apart from the status', () => {
    const view = foldTriage([ev(1, 'assign', bob), ev(2, 'resolve')]);
    expect(view).toMatchObject({ status: 'resolved', assignee: bob });
  });
  it('shows every action as text, never as a mention', () => {
    const lines = triageLines(foldTriage([ev(1, 'acknowledge'), ev(2, 'assign', bob)]));
    expect(lines).toEqual(['Acknowledged by @alice at 14:02 UTC', 'Assigned to @bob at 14:02 UTC']);
  });
  it('summarises long histories and shows a Panther failure', () => {
    const events = Array.from({ length: 8 }, (_, i) => ev(i + 1, 'assign'));
    const lines = triageLines(foldTriage(events, { panther: { state: 'failed', reason: 'HTTP 503', retrying: true } }));
    expect(lines[0]).toBe('(4 earlier actions)');
    expect(lines).toHaveLength(6);
    expect(lines.at(-1)).toBe('Not synced to Panther: HTTP 503 (retrying)');
  });
  it('offers only the buttons that still apply', () => {
    const all = ['acknowledge', 'resolve', 'assign'] as const;
    expect(buttonsFor(foldTriage([]), all)).toEqual(all);
    expect(buttonsFor(foldTriage([ev(1, 'acknowledge')]), all)).toEqual(['resolve', 'assign']);
    expect(buttonsFor(foldTriage([ev(1, 'resolve')]), all)).toEqual(['assign']);
  });
});

describe('button ids', () => {
  it('round-trip and refuse anything else', () => {
    expect(parseTriageButtonId(triageButtonId('resolve', 42))).toEqual({ action: 'resolve', deliveryId: 42 });
    for (const bad of ['cb:delete:1', 'cb:resolve:', 'cb:resolve:1 ', 'xcb:resolve:1', 42, undefined, 'cb:resolve:1234567890123456']) {
      expect(parseTriageButtonId(bad)).toBeNull();
    }
  });
});

describe('request guard', () => {
  const now = 1_800_000_000_000;
  it('accepts ±300 s and nothing beyond, in both directions', () => {
    expect(isFresh(String(now / 1000 - 300), now)).toBe(true);
    expect(isFresh(String(now / 1000 + 300), now)).toBe(true);
    expect(isFresh(String(now / 1000 - 301), now)).toBe(false);
    expect(isFresh(String(now / 1000 + 301), now)).toBe(false);
    for (const bad of [undefined, '', '1.5e9', '-1', ' 1800000000', '18000000000000000']) expect(isFresh(bad, now)).toBe(false);
  });
  it('remembers accepted signatures for the whole window, and evicts beyond its bound', () => {
    const cache = new ReplayCache(2);
    cache.remember('a', now);
    expect(cache.has('a', now + 500_000)).toBe(true);
    expect(cache.has('a', now + 700_000)).toBe(false);
    cache.remember('b', now);
    cache.remember('c', now);
    expect(cache.has('a', now)).toBe(false);
    expect(cache.has('c', now)).toBe(true);
  });
  it('verifies Ed25519 over timestamp + body and refuses tampering or malformed signatures', () => {
    const keys = discordKeys();
    const signed = keys.sign({ type: 1 });
    const key = discordPublicKey(keys.publicKeyHex);
    const ts = signed.headers['x-signature-timestamp']!;
    const sig = signed.headers['x-signature-ed25519']!;
    expect(verifyDiscordSignature(key, ts, Buffer.from(signed.body), sig)).toBe(true);
    expect(verifyDiscordSignature(key, ts, Buffer.from(`${signed.body} `), sig)).toBe(false);
    expect(verifyDiscordSignature(key, String(Number(ts) + 1), Buffer.from(signed.body), sig)).toBe(false);
    expect(verifyDiscordSignature(key, ts, Buffer.from(signed.body), sig.slice(2))).toBe(false);
    expect(verifyDiscordSignature(key, ts, Buffer.from(signed.body), 'zz'.repeat(64))).toBe(false);
  });
});

describe('check on triage settings', () => {
  const base = `
slack: { token: xoxb-1, signingSecret: s3cret }
discord: { token: d }
sources: { panther: { auth: { tokens: [t] } } }
destinations:
  s: { type: slack, channel: C0123456789 }
  d: { type: discord, channel: "112233445566778899" }
  h: { type: discord-webhook, url: "https://discord.com/api/webhooks/123456789012345678/${'a'.repeat(68)}" }
`;
  const warningsOf = (routes: string) => {
    const result = loadConfigText(base + routes, {});
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    return result.warnings.map((w) => `${w.path}: ${w.message}`);
  };
  it('says webhook destinations get link buttons only and bot ones need the public key', () => {
    const warnings = warningsOf('routes:\n  - name: r\n    to: [s, d, h]\n    triage: { buttons: [acknowledge] }\n');
    expect(warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/routes\[0\]\.to\[2\]: destination "h" is a Discord webhook: its messages get link buttons only/), expect.stringMatching(/routes\[0\]\.to\[1\]: destination "d" shows no triage buttons until discord.publicKey is set/)]),
    );
    expect(warnings.some((w) => /"s"/.test(w))).toBe(false);
  });
  it('says threads cannot happen on webhooks, and validates the settings', () => {
    expect(warningsOf('routes:\n  - name: r\n    to: [h]\n    threads: on\n    triage: off\n').filter((w) => w.startsWith('routes'))).toEqual([expect.stringMatching(/cannot thread repeats/)]);
    const bad = loadConfigText(`${base}routes:\n  - name: r\n    to: [s]\n    threads: { window: 1h }\n    triage: { buttons: [delete] }\n`, {});
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems.map((p) => p.path)).toEqual(expect.arrayContaining([expect.stringMatching(/^routes\[0\]\.threads/), expect.stringMatching(/^routes\[0\]\.triage/)]));
  });
});
