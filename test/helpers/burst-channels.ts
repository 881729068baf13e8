/**
 * Many channels for the multi-replica burst (issue 16): `count` Slack and `count` Discord channels, route k taking
 * every alert tagged `burst-k` to Slack channel k and Discord channel k, so a burst spread over the tags drains
 * `count` times faster than one channel pair at the platforms' 1 message a second per channel. And the figures of
 * a burst per channel, read from what a fake received and from the store.
 */
import type { FakeDiscord } from './fake-discord';
import type { FakeSlack } from './fake-slack';
import type { RecordedRequest } from './fake-http';
import { peakInWindow } from './bridge-harness';
import { queryDb } from './replicas';

export const SLACK_POST = 'chat.postMessage';
export const DISCORD_POST = 'POST /channels/:id/messages';

/** The channels of a burst over `count` channel pairs, and the config lines that route to them. */
export interface BurstChannels {
  slack: string[];
  discord: string[];
  /** The tag that routes an alert to pair `k` (matched case-insensitively). */
  tag(k: number): string;
  /** Destination lines for harnessYaml's `extraDestinations` (`pace` written on each Discord destination, if given). */
  destinationsYaml: string;
  /** One route per pair, digests off (each alert its own message, so every alert is countable). */
  routesYaml: string;
}

/** Slack ids C0BURST000…, Discord ids 1200000000000000000…; registered as known channels at both fakes. */
export function burstChannels(count: number, fakes: { slack: FakeSlack; discord: FakeDiscord }, discordPace?: { limit: number; windowMs: number }): BurstChannels {
  const pad = (k: number) => String(k).padStart(3, '0');
  const slack = Array.from({ length: count }, (_, k) => `C0BURST${pad(k)}`);
  const discord = Array.from({ length: count }, (_, k) => `1200000000000000${pad(k)}`);
  for (const id of slack) fakes.slack.channels.add(id);
  for (const id of discord) fakes.discord.channels.add(id);
  const pace = discordPace ? `, pace: { limit: ${discordPace.limit}, windowMs: ${discordPace.windowMs} }` : '';
  const tag = (k: number) => `burst-${pad(k)}`;
  return {
    slack,
    discord,
    tag,
    destinationsYaml: slack.map((id, k) => `  slack-${pad(k)}: { type: slack, channel: ${id} }\n  discord-${pad(k)}: { type: discord, channel: "${discord[k]}"${pace} }`).join('\n'),
    routesYaml: `routes:\n${slack.map((_, k) => `  - name: pair-${pad(k)}\n    match: { tags: { any: [${tag(k)}] } }\n    to: [slack-${pad(k)}, discord-${pad(k)}]\n    digest: off`).join('\n')}`,
  };
}

/** The channel a message-post request went to (Slack: its `channel` argument; Discord: the path), else undefined. */
export function postChannel(r: RecordedRequest): string | undefined {
  if (r.route === SLACK_POST) return String((r.body as { channel?: unknown } | undefined)?.channel);
  if (r.route === DISCORD_POST) return r.path.split('/')[4];
  return undefined;
}

/** Per channel, what a fake saw of the message posts: requests, 429s, the most in any 1 s, the shortest gap. */
export interface ChannelFigures {
  requests: number;
  rateLimited: number;
  peakPerSecond: number;
  minGapMs: number;
}

/** {@link ChannelFigures} of every channel a fake got message posts for, by channel (receive times, as the fake counts). */
export function perChannelFigures(requests: readonly RecordedRequest[]): Map<string, ChannelFigures> {
  const byChannel = new Map<string, RecordedRequest[]>();
  for (const r of requests) {
    const channel = postChannel(r);
    if (channel === undefined) continue;
    const list = byChannel.get(channel) ?? [];
    list.push(r);
    byChannel.set(channel, list);
  }
  const out = new Map<string, ChannelFigures>();
  for (const [channel, list] of byChannel) {
    const times = list.map((r) => r.receivedAt).sort((a, b) => a - b);
    out.set(channel, {
      requests: list.length,
      rateLimited: list.filter((r) => r.status === 429).length,
      peakPerSecond: peakInWindow(times, 1000),
      minGapMs: Math.min(...times.slice(1).map((t, i) => t - times[i]!)),
    });
  }
  return out;
}

/** The figures of all channels together: the worst peak and gap, and the totals. */
export function summarise(figures: Map<string, ChannelFigures>): { channels: number; requests: number; rateLimited: number; peakPerSecond: number; minGapMs: number } {
  const all = [...figures.values()];
  return {
    channels: all.length,
    requests: all.reduce((n, f) => n + f.requests, 0),
    rateLimited: all.reduce((n, f) => n + f.rateLimited, 0),
    peakPerSecond: Math.max(0, ...all.map((f) => f.peakPerSecond)),
    minGapMs: Math.min(...all.map((f) => f.minGapMs)),
  };
}

/**
 * Counts the requests a fake holds at once per channel (wrap each request's gate in `count`): the most ever seen
 * per channel is `max`. Across replicas, a channel must never have two sends in flight (issue 16 point 2).
 */
export function inFlightCounter(): { count(channel: string, work: Promise<void>): Promise<void>; max: Map<string, number> } {
  const now = new Map<string, number>();
  const max = new Map<string, number>();
  return {
    max,
    count(channel, work) {
      now.set(channel, (now.get(channel) ?? 0) + 1);
      max.set(channel, Math.max(max.get(channel) ?? 0, now.get(channel)!));
      return work.finally(() => now.set(channel, now.get(channel)! - 1));
    },
  };
}

/** Alert number `n` of a test (its title), read back from the text the fakes received. */
export const numbered = (prefix: string) => ({
  title: (n: number) => `${prefix} ${n}`,
  of: (text: string) => Number(new RegExp(`${prefix} (\\d+)\\b`).exec(text)?.[1] ?? NaN),
});

/** How many messages each alert number got. */
export function perAlert(texts: string[], of: (text: string) => number): Map<number, number> {
  const counts = new Map<number, number>();
  for (const n of texts.map(of).filter((x) => !Number.isNaN(x))) counts.set(n, (counts.get(n) ?? 0) + 1);
  return counts;
}

/** Messages beyond the first, over all alerts of a {@link perAlert} count. */
export const duplicates = (counts: Map<number, number>): number => [...counts.values()].reduce((sum, c) => sum + c - 1, 0);

/**
 * Attempts the store recorded as rate-limited, per platform (the destination name's first part: `slack-007` →
 * `slack`): 429s, and requests the SDK refused before sending them because its bucket had no room.
 */
export async function rateLimitedAttempts(dbUrl: string): Promise<Record<string, number>> {
  const rows = await queryDb<{ platform: string; n: number }>(dbUrl, `SELECT split_part(destination, '-', 1) AS platform, sum(rate_limited)::int AS n FROM deliveries GROUP BY 1 ORDER BY 1`);
  return Object.fromEntries(rows.map((r) => [r.platform, r.n]));
}
