/**
 * Three replicas, one PostgreSQL (issue 16, points 2 and 3, and its "Tests"): three built `serve` processes share a
 * fresh database and one config, each on its own port, against the loopback fakes of Slack and Discord (which
 * validate every message and count them).
 * - The same Panther payload POSTed to two replicas at the same moment: one `accepted`, one `duplicate`, one post.
 * - A burst round-robin across the replicas over 20 Slack and 20 Discord channels, the fakes holding each to one
 *   message a second, one replica SIGKILLed mid-burst and started again: every alert that got a 2xx is delivered;
 *   none twice on Discord (the nonce), on Slack at most the sends the killed replica had in flight (its leases at
 *   the kill); per channel at most one send in flight across the replicas and one request in any second, no 429;
 *   ≤ 1.05 requests per delivered message. 200 alerts by default, `REPLICA_BURST_ALERTS=2000` for the size.
 * - With the fakes holding each channel to its platform limit, the replicas together keep to it (point 3; fails on
 *   main at 00e5407, see the describe at the end).
 */
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import type { RecordedRequest } from '../helpers/fake-http';
import { harnessYaml, peakInWindow } from '../helpers/bridge-harness';
import { burstChannels, DISCORD_POST, duplicates, inFlightCounter, numbered, perAlert, perChannelFigures, postChannel, rateLimitedAttempts, SLACK_POST, summarise } from '../helpers/burst-channels';
import type { BurstChannels, ChannelFigures } from '../helpers/burst-channels';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';
import { eventually, postPanther, queryDb, Replica, replicaEnv, startReplicas, writeReplicaConfig } from '../helpers/replicas';

jest.setTimeout(120_000);

/**
 * Alerts in the kill burst: 200 by default, for CI (10 a channel; the dead replica's channels wait out its leases,
 * 15 s, so the test takes about half a minute); `REPLICA_BURST_ALERTS=2000` runs the size (100 a channel at
 * a second each: about two and a half minutes).
 */
const BURST_ALERTS = Number(process.env.REPLICA_BURST_ALERTS ?? 200);
/** Slack and Discord channels the burst is spread over (each alert to one of each). */
const BURST_PAIRS = 20;
/**
 * The Discord destinations' pace in the burst: a channel held to one message a second, as the issue's fake holds
 * it. The bridge's Discord default is the platform's 5 per 5 s (the shared-pace describe below holds the fake to
 * that); against a fake at 1 per second it would send the second of a burst early, as a Discord channel allows.
 */
const DISCORD_BURST_PACE = { limit: 1, windowMs: 1000 };
/** How long the drain may take before the test gives up: twice a second a message per channel, plus the leases. */
const BURST_DRAIN_MS = Math.ceil(BURST_ALERTS / BURST_PAIRS) * 2000 + 60_000;

let slack: FakeSlack;
let discord: FakeDiscord;
let db: TestDatabase;
const running: Replica[] = [];

beforeAll(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
});
beforeEach(async () => {
  db = await createTestDatabase();
  slack.reset();
  discord.reset();
  slack.gate = undefined;
  discord.gate = undefined;
  slack.setRateLimit(undefined);
  discord.setRateLimit(undefined);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.kill()));
  await db.drop();
});
afterAll(async () => {
  await slack?.close();
  await discord?.close();
});

const DISCORD_CHANNEL = '1100000000000000001';

/**
 * One config for every replica: by default one Slack and one Discord channel, each alert to both; with `channels`,
 * those pairs instead (an alert to the pair its tag names).
 */
function replicaConfig(options: { realPace?: boolean; holdsSends?: boolean; channels?: BurstChannels } = {}): { file: string; env: Record<string, string> } {
  const webhookUrl = discord.webhookUrl();
  const routing = options.channels
    ? { extraDestinations: options.channels.destinationsYaml, routesYaml: options.channels.routesYaml }
    : { routesYaml: 'routes:\n  - name: all\n    to: [soc-slack, soc-discord]\n    digest: off' };
  let yaml = harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storeUrl: db.url, realPace: options.realPace, ...routing });
  // A test that holds sends at the fakes for seconds: the harness's 2 s request timeout would end a held send on the
  // bridge's side (then another replica sends the row while the fake still holds the first request), which is not
  // the kill this test is about. Production keeps the lease (60 s) far above the request timeout (10 s) too.
  if (options.holdsSends) yaml = yaml.replace('requestTimeoutMs: 2000', 'requestTimeoutMs: 10000').replace('leaseMs: 5000', 'leaseMs: 15000');
  return { file: writeReplicaConfig(yaml), env: replicaEnv(webhookUrl) };
}

async function replicas(count: number, config: { file: string; env: Record<string, string> }, prefix = 'r'): Promise<Replica[]> {
  const started = await startReplicas(count, config.file, config.env, prefix);
  running.push(...started);
  return started;
}

const slackPosts = () => slack.messages.filter((m) => m.method === SLACK_POST);
const discordCreates = () => discord.messages.filter((m) => m.kind === 'create' && m.channelId === DISCORD_CHANNEL);
const slackTexts = () => slackPosts().map((m) => String(m.args.text));
const discordTexts = () => discordCreates().map((m) => JSON.stringify(m.body));
const deliveryStatuses = () => queryDb<{ status: string; n: number }>(db.url, `SELECT status, count(*)::int AS n FROM deliveries GROUP BY status ORDER BY status`);

describe('three replicas on one PostgreSQL', () => {
  it('the same Panther payload at two replicas at once: one accepted, one duplicate, one message per channel', async () => {
    const rs = await replicas(3, replicaConfig());
    const race = numbered('Race alert');
    const ROUNDS = 12;
    for (let k = 0; k < ROUNDS; k++) {
      const payload = makeAlertPayload({ title: race.title(k) });
      const [a, b] = [rs[k % 3]!, rs[(k + 1) % 3]!];
      const answers = await Promise.all([postPanther(a.url!, payload), postPanther(b.url!, payload)]);
      expect(answers.map((x) => x.status)).toEqual([200, 200]);
      expect(answers.map((x) => x.body.status).sort()).toEqual(['accepted', 'duplicate']);
      expect(new Set(answers.map((x) => x.body.alertId))).toEqual(new Set([payload.alertId]));
    }
    await eventually(() => perAlert(slackTexts(), race.of).size === ROUNDS && perAlert(discordTexts(), race.of).size === ROUNDS, 20_000, 'every race alert posted', async () => JSON.stringify(await deliveryStatuses()));
    await new Promise((r) => setTimeout(r, 1500));
    expect([...perAlert(slackTexts(), race.of).values()]).toEqual(Array(ROUNDS).fill(1));
    expect([...perAlert(discordTexts(), race.of).values()]).toEqual(Array(ROUNDS).fill(1));
    expect(await queryDb(db.url, `SELECT count(*)::int AS alerts FROM alerts`)).toEqual([{ alerts: ROUNDS }]);
    expect(await deliveryStatuses()).toEqual([{ status: 'delivered', n: ROUNDS * 2 }]);
  });

  it(`a burst of ${BURST_ALERTS} alerts round-robin over ${BURST_PAIRS} Slack and ${BURST_PAIRS} Discord channels held to 1 msg/s, one replica SIGKILLed mid-burst and restarted: nothing acknowledged lost, nothing twice on Discord, no channel over its limit`, async () => {
    // The fakes hold every channel to one message a second, as Slack does; the bridge keeps its real pace.
    slack.setRateLimit({ perChannel: 1, windowMs: 1000 });
    discord.setRateLimit({ limit: 1, windowMs: 1000 });
    const pairs = burstChannels(BURST_PAIRS, { slack, discord }, DISCORD_BURST_PACE);
    const config = replicaConfig({ holdsSends: true, realPace: true, channels: pairs });
    const rs = await replicas(3, config);
    const burst = numbered('Burst alert');
    const TOTAL = BURST_ALERTS;
    const KILL_AFTER = Math.floor(TOTAL / 3);
    const CONCURRENCY = 12;

    // The platforms answer in 20 ms. The gate also counts sends in flight per channel at once, across replicas.
    const inFlight = inFlightCounter();
    // Mid-burst the victim is killed while the fakes hold a send of it on each platform (up to 2 s waiting for the
    // second): the messages are posted, and the victim never learns it. Its leases run out and another replica sends
    // them again: Discord's nonce must turn that into the same message; on Slack it is the duplicate the issue allows.
    // A held send reaches the fake's rate limit when it is let go, after the kill: its channel is still the victim's
    // (lease and shared pace) for seconds after that, so no other send of that channel comes near it.
    let armed = false;
    const held: { platform: string; release: () => void }[] = [];
    let kill: Promise<void> | undefined;
    const heldByVictim = async (platform: string, title: string): Promise<boolean> => {
      if (!armed || kill || held.some((h) => h.platform === platform)) return false;
      const [row] = await queryDb<{ claimed_by: string | null }>(db.url, `SELECT d.claimed_by FROM deliveries d JOIN alerts a ON a.id = d.alert_row WHERE a.title = $1 AND d.destination LIKE $2`, [title, `${platform}-%`]);
      return row?.claimed_by === victim.instanceId && !kill && !held.some((h) => h.platform === platform);
    };
    const titleIn = (text: string) => /Burst alert \d+/.exec(text)?.[0] ?? '';
    const platformGate = (platform: string, r: RecordedRequest, text: string) =>
      inFlight.count(
        `${platform}:${postChannel(r)}`,
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          if (!(await heldByVictim(platform, titleIn(text)))) return;
          await new Promise<void>((release) => {
            held.push({ platform, release });
            if (held.length === 2) kill = killAndRestart();
            else setTimeout(() => void (kill ??= killAndRestart()), 2000);
          });
        })(),
      );
    slack.gate = (r) => (r.route === SLACK_POST ? platformGate('slack', r, String((r.body as { text?: string }).text)) : undefined);
    discord.gate = (r) => (r.route === DISCORD_POST ? platformGate('discord', r, JSON.stringify(r.body)) : undefined);

    const started = Date.now();
    const acked = new Set<number>();
    const answers = { accepted: 0, duplicate: 0, refused: 0 };
    let victim: Replica = rs[1]!;
    let killed: { at: number; leases: { destination: string; n: number }[]; slackLeased: Set<number>; held: string[] } | undefined;
    let restarted: Replica | undefined;
    let next = 0;

    /** Alert n (to channel pair n mod BURST_PAIRS) to its replica in the rotation; a replica that is down or fails on the wire passes it to the next (a load balancer's retry, or Panther's). */
    const send = async (n: number) => {
      const payload = makeAlertPayload({ title: burst.title(n), tags: ['AWS', pairs.tag(n % BURST_PAIRS)] });
      for (let attempt = 0; attempt < 12; attempt++) {
        const replica = [rs[0]!, restarted ?? victim, rs[2]!][(n + attempt) % 3]!;
        if (!replica.url) continue;
        const res = await postPanther(replica.url, payload);
        if (res.status === 200) {
          acked.add(n);
          answers[res.body.status as 'accepted' | 'duplicate']++;
          return;
        }
        answers.refused++;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    /** SIGKILLs the victim (sends of it held at the fakes), notes the leases it dies holding, lets the held sends through, and starts it again a second later. */
    async function killAndRestart(): Promise<void> {
      const instanceId = victim.instanceId!;
      await victim.kill();
      const at = Date.now();
      // Its leases: the sends it had in flight, which another replica makes again once they run out.
      const leases = await queryDb<{ destination: string; n: number }>(
        db.url,
        `SELECT destination, count(*)::int AS n FROM deliveries WHERE claimed_by = $1 AND status = 'pending' AND lease_until > $2 GROUP BY destination ORDER BY destination`,
        [instanceId, at],
      );
      // Which alerts those Slack leases are: a Slack duplicate may only be one of them (a count alone would let a
      // repeat of a message delivered long before pass, as long as there were as few as the leases).
      const slackRows = await queryDb<{ title: string }>(
        db.url,
        `SELECT a.title FROM deliveries d JOIN alerts a ON a.id = d.alert_row WHERE d.claimed_by = $1 AND d.status = 'pending' AND d.lease_until > $2 AND d.destination LIKE 'slack-%'`,
        [instanceId, at],
      );
      killed = { at, leases, slackLeased: new Set(slackRows.map((r) => burst.of(r.title))), held: held.map((h) => h.platform) };
      for (const h of held) h.release();
      await new Promise((r) => setTimeout(r, 1000));
      const again = new Replica('r2-restarted', config.file, config.env);
      running.push(again);
      await again.listening();
      restarted = again;
    }
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < TOTAL) {
          const n = next++;
          if (n === KILL_AFTER) armed = true;
          await send(n);
        }
      }),
    );
    const postedMs = Date.now() - started;
    await eventually(() => kill !== undefined, 30_000, 'the victim caught with a send in flight');
    await kill;
    expect(killed).toBeDefined();
    expect(acked.size).toBe(TOTAL);

    const burstSlackPosts = () => slack.messages.filter((m) => m.method === SLACK_POST && pairs.slack.includes(m.channel));
    const burstDiscordCreates = () => discord.messages.filter((m) => m.kind === 'create' && pairs.discord.includes(m.channelId));
    const onSlackNow = () => perAlert(burstSlackPosts().map((m) => String(m.args.text)), burst.of);
    const onDiscordNow = () => perAlert(burstDiscordCreates().map((m) => JSON.stringify(m.body)), burst.of);
    const everything = () => {
      const [onSlack, onDiscord] = [onSlackNow(), onDiscordNow()];
      return [...acked].every((n) => onSlack.has(n) && onDiscord.has(n));
    };
    // A guard, not a speed goal: each channel takes a second a message, plus the dead replica's leases.
    await eventually(everything, BURST_DRAIN_MS, 'every acknowledged alert on Slack and Discord', async () => JSON.stringify(await deliveryStatuses()));
    const deliveredMs = Date.now() - started;
    await eventually(async () => JSON.stringify(await deliveryStatuses()) === JSON.stringify([{ status: 'delivered', n: TOTAL * 2 }]), 15_000, 'every delivery recorded', async () => JSON.stringify(await deliveryStatuses()));
    // Late repeats (a lease of the dead replica running out) would arrive now.
    await new Promise((r) => setTimeout(r, 1500));

    const [onSlack, onDiscord] = [onSlackNow(), onDiscordNow()];
    const lost = [...acked].filter((n) => !onSlack.has(n) || !onDiscord.has(n));
    const slackInFlightAtKill = killed!.leases.filter((l) => l.destination.startsWith('slack-')).reduce((sum, l) => sum + l.n, 0);
    const slackChannels = perChannelFigures(slack.requests);
    const discordChannels = perChannelFigures(discord.requests);
    const [slackAll, discordAll] = [summarise(slackChannels), summarise(discordChannels)];
    const slackPerMessage = slackAll.requests / onSlack.size;
    const discordPerMessage = discordAll.requests / onDiscord.size;
    const mostInFlight = Math.max(...inFlight.max.values());
    // With no 429 at the fakes, each attempt recorded rate-limited was refused by the SDK's own bucket before it was sent.
    const heldBack = await rateLimitedAttempts(db.url);

    console.log(
      `burst: ${TOTAL} alerts over 3 replicas and ${BURST_PAIRS}+${BURST_PAIRS} channels held to 1 msg/s (one replica SIGKILLed ${killed!.at - started} ms in (after ${KILL_AFTER} posts) ` +
        `with sends held at ${JSON.stringify(killed!.held)}, holding leases ${JSON.stringify(killed!.leases)}; restarted), answers ${JSON.stringify(answers)}, ` +
        `posted in ${postedMs} ms, all delivered after ${deliveredMs} ms; lost ${lost.length}; duplicates Slack ${duplicates(onSlack)} (bound: ${slackInFlightAtKill} in flight at the kill), ` +
        `Discord ${duplicates(onDiscord)} (nonce repeats answered with the existing message: ${discord.nonceDuplicates}); ` +
        `Slack ${JSON.stringify(slackAll)}, Discord ${JSON.stringify(discordAll)} (peakPerSecond, minGapMs: the worst channel); ` +
        `requests per message Slack ${slackPerMessage.toFixed(3)} (${slackAll.requests}/${onSlack.size}), Discord ${discordPerMessage.toFixed(3)} (${discordAll.requests}/${onDiscord.size}); ` +
        `most sends in flight at once in a channel ${mostInFlight} (over ${inFlight.max.size} channels); attempts rate-limited before sending ${JSON.stringify(heldBack)}`,
    );
    expect(lost).toEqual([]);
    expect(duplicates(onDiscord)).toBe(0);
    expect(duplicates(onSlack)).toBeLessThanOrEqual(slackInFlightAtKill);
    const slackRepeated = [...onSlack].filter(([, count]) => count > 1).map(([n]) => n);
    console.log(`Slack alerts posted twice ${JSON.stringify(slackRepeated)}; the victim's Slack leases at the kill ${JSON.stringify([...killed!.slackLeased])}`);
    expect(slackRepeated.filter((n) => !killed!.slackLeased.has(n))).toEqual([]);
    // Per channel, at each fake: never two requests within a second, none refused with 429 (requests, not only the
    // accepted messages: a request the fake refuses was still one too many).
    const peaks = (figures: Map<string, ChannelFigures>) => Object.fromEntries([...figures].map(([channel, f]) => [channel, f.peakPerSecond]));
    expect(peaks(slackChannels)).toEqual(Object.fromEntries(pairs.slack.map((id) => [id, 1])));
    expect(peaks(discordChannels)).toEqual(Object.fromEntries(pairs.discord.map((id) => [id, 1])));
    expect(slack.counters.rateLimited + discord.counters.rateLimited).toBe(0);
    // Nor held back by the SDKs' own buckets: the bridge's pace opens the channel when the platform does (with
    // discord.js's 50 ms reset offset, 5–12 Discord sends per 200 alerts were refused before they were sent).
    expect(heldBack).toEqual({ discord: 0, slack: 0 });
    expect(slackPerMessage).toBeLessThanOrEqual(1.05);
    expect(discordPerMessage).toBeLessThanOrEqual(1.05);
    // One send in flight per channel across the replicas (point 2).
    expect(Object.fromEntries(inFlight.max)).toEqual(Object.fromEntries([...pairs.slack.map((id) => `slack:${id}`), ...pairs.discord.map((id) => `discord:${id}`)].map((key) => [key, 1])));
    expect([...slack.violations, ...discord.violations]).toEqual([]);
  }, BURST_DRAIN_MS + 90_000);
});

/**
 * The shared per-channel pace (point 3). Fails on main at 00e5407, where the pace is shared: a slot is taken in the
 * claim transaction, but the request reaches the platform a varying few tens of ms after the claim, differently on
 * each replica, so consecutive sends of two replicas arrive 845–990 ms apart and a strict 1 msg/s window answers 429
 * (5–9 per 15 alerts; 1.3–1.6 requests per message). One replica on the same code keeps every gap above 1,010 ms.
 */
describe('three replicas keep a channel to its platform limit together (point 3: shared per-channel pace)', () => {
  it('the fakes holding Slack to 1 msg/s and Discord to 5 per 5 s per channel see no more, and no 429', async () => {
    slack.setRateLimit({ perChannel: 1, windowMs: 1000 });
    discord.setRateLimit({ limit: 5, windowMs: 5000 });
    const rs = await replicas(3, replicaConfig({ realPace: true }), 'paced');
    const paced = numbered('Paced alert');
    const TOTAL = 15;
    const started = Date.now();
    for (let n = 0; n < TOTAL; n++) expect((await postPanther(rs[n % rs.length]!.url!, makeAlertPayload({ title: paced.title(n) }))).status).toBe(200);
    await eventually(() => perAlert(slackTexts(), paced.of).size === TOTAL && perAlert(discordTexts(), paced.of).size === TOTAL, 60_000, 'every paced alert posted');
    const tookMs = Date.now() - started;
    const slackTimes = slack.requests.filter((r) => r.route === SLACK_POST).map((r) => r.receivedAt);
    const discordTimes = discord.requests.filter((r) => r.route === DISCORD_POST).map((r) => r.receivedAt);
    const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);
    const slackPerMessage = slackTimes.length / TOTAL;
    const discordPerMessage = discordTimes.length / TOTAL;
    console.log(
      `shared pace: ${TOTAL} alerts over 3 replicas in ${tookMs} ms; Slack requests ${slackTimes.length} (peak ${peakInWindow(slackTimes, 1000)} per 1 s, 429s ${slack.counters.rateLimited}), ` +
        `Discord requests ${discordTimes.length} (peak ${peakInWindow(discordTimes, 5000)} per 5 s, 429s ${discord.counters.rateLimited}); ` +
        `ms between Slack requests ${JSON.stringify(gaps(slackTimes))}, between Discord requests ${JSON.stringify(gaps(discordTimes))}`,
    );
    // Requests, not only accepted messages: a send the fake refuses with 429 was still one too many.
    expect(peakInWindow(slackTimes, 1000)).toBeLessThanOrEqual(1);
    expect(peakInWindow(discordTimes, 5000)).toBeLessThanOrEqual(5);
    expect(slack.counters.rateLimited + discord.counters.rateLimited).toBe(0);
    expect(slackPerMessage).toBeLessThanOrEqual(1.05);
    expect(discordPerMessage).toBeLessThanOrEqual(1.05);
  });
});
