/**
 * Three replicas, one PostgreSQL (issue 16, points 2 and 3, and its "Tests"): three built `serve` processes share a
 * fresh database and one config, each on its own port, against the loopback fakes of Slack and Discord (which
 * validate every message and count them).
 * - The same Panther payload POSTed to two replicas at the same moment: one `accepted`, one `duplicate`, one post.
 * - A burst round-robin across the replicas, one of them SIGKILLed mid-burst and started again: every alert that
 *   got a 2xx is delivered; none twice on Discord (the nonce), on Slack at most the sends the killed replica had in
 *   flight (its leases at the kill); at most one send in flight per channel across the replicas; ≤ 1.05 requests
 *   per delivered message.
 * - With the fakes holding each channel to its platform limit, the replicas together keep to it (point 3; fails on
 *   main at 00e5407, see the describe at the end).
 */
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessYaml, peakInWindow } from '../helpers/bridge-harness';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';
import { eventually, postPanther, queryDb, Replica, replicaEnv, startReplicas, writeReplicaConfig } from '../helpers/replicas';

jest.setTimeout(120_000);

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

const SLACK_CHANNEL = 'C0123456789';
const DISCORD_CHANNEL = '1100000000000000001';
const SLACK_POST = 'chat.postMessage';
const DISCORD_POST = 'POST /channels/:id/messages';

/** One config for every replica: one Slack and one Discord channel, each alert to both. */
function replicaConfig(options: { realPace?: boolean; holdsSends?: boolean } = {}): { file: string; env: Record<string, string> } {
  const webhookUrl = discord.webhookUrl();
  let yaml = harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storeUrl: db.url, realPace: options.realPace, routesYaml: 'routes:\n  - name: all\n    to: [soc-slack, soc-discord]\n    digest: off' });
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

/** Alert number `n` of a test, read back from what the fakes received. */
const numbered = (prefix: string) => ({
  title: (n: number) => `${prefix} ${n}`,
  of: (text: string) => Number(new RegExp(`${prefix} (\\d+)\\b`).exec(text)?.[1] ?? NaN),
});
const slackPosts = () => slack.messages.filter((m) => m.method === SLACK_POST);
const discordCreates = () => discord.messages.filter((m) => m.kind === 'create' && m.channelId === DISCORD_CHANNEL);
/** How many messages each alert number got. */
function perAlert(texts: string[], of: (text: string) => number): Map<number, number> {
  const counts = new Map<number, number>();
  for (const n of texts.map(of).filter((x) => !Number.isNaN(x))) counts.set(n, (counts.get(n) ?? 0) + 1);
  return counts;
}
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

  it('a burst round-robin, one replica SIGKILLed mid-burst and restarted: nothing acknowledged lost, nothing posted twice on Discord', async () => {
    const config = replicaConfig({ holdsSends: true });
    const rs = await replicas(3, config);
    const burst = numbered('Burst alert');
    const TOTAL = 300;
    const KILL_AFTER = 100;
    const CONCURRENCY = 12;

    // The platforms answer in 20 ms. The gate also counts sends in flight per channel at once, across replicas.
    const inFlight = new Map<string, number>();
    const maxInFlight = new Map<string, number>();
    const counted = (channel: string, work: Promise<void>) => {
      inFlight.set(channel, (inFlight.get(channel) ?? 0) + 1);
      maxInFlight.set(channel, Math.max(maxInFlight.get(channel) ?? 0, inFlight.get(channel)!));
      return work.finally(() => inFlight.set(channel, inFlight.get(channel)! - 1));
    };
    // Mid-burst the victim is killed while the fakes hold a send of it on each platform (up to 2 s waiting for the
    // second): the messages are posted, and the victim never learns it. Its leases run out and another replica sends
    // them again: Discord's nonce must turn that into the same message; on Slack it is the duplicate the issue allows.
    let armed = false;
    const held: { platform: string; release: () => void }[] = [];
    let firstHeldAt = 0;
    let kill: Promise<void> | undefined;
    const heldByVictim = async (platform: string, title: string, destination: string): Promise<boolean> => {
      if (!armed || kill || held.some((h) => h.platform === platform)) return false;
      const [row] = await queryDb<{ claimed_by: string | null }>(db.url, `SELECT d.claimed_by FROM deliveries d JOIN alerts a ON a.id = d.alert_row WHERE a.title = $1 AND d.destination = $2`, [title, destination]);
      return row?.claimed_by === victim.instanceId && !kill && !held.some((h) => h.platform === platform);
    };
    const platformGate = (platform: string, channel: string, title: string, destination: string) =>
      counted(
        channel,
        (async () => {
          await new Promise((r) => setTimeout(r, 20));
          if (!(await heldByVictim(platform, title, destination))) return;
          await new Promise<void>((release) => {
            held.push({ platform, release });
            firstHeldAt ||= Date.now();
            if (held.length === 2) kill = killAndRestart();
            else setTimeout(() => void (kill ??= killAndRestart()), 2000);
          });
        })(),
      );
    const titleIn = (text: string) => /Burst alert \d+/.exec(text)?.[0] ?? '';
    slack.gate = (r) => (r.route === SLACK_POST ? platformGate('slack', `slack:${String((r.body as { channel?: string }).channel)}`, titleIn(String((r.body as { text?: string }).text)), 'soc-slack') : undefined);
    discord.gate = (r) => (r.route === DISCORD_POST ? platformGate('discord', `discord:${r.path.split('/')[4]}`, titleIn(JSON.stringify(r.body)), 'soc-discord') : undefined);

    const started = Date.now();
    const acked = new Set<number>();
    const answers = { accepted: 0, duplicate: 0, refused: 0 };
    let victim: Replica = rs[1]!;
    let killed: { instanceId: string; at: number; leases: { destination: string; n: number }[]; held: string[] } | undefined;
    let restarted: Replica | undefined;
    let next = 0;

    /** Alert n to its replica in the rotation; a replica that is down or fails on the wire passes it to the next (a load balancer's retry, or Panther's). */
    const send = async (n: number) => {
      const payload = makeAlertPayload({ title: burst.title(n) });
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
      killed = { instanceId, at, leases, held: held.map((h) => h.platform) };
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

    const everything = () => {
      const onSlack = perAlert(slackTexts(), burst.of);
      const onDiscord = perAlert(discordTexts(), burst.of);
      return [...acked].every((n) => onSlack.has(n) && onDiscord.has(n));
    };
    await eventually(everything, 60_000, 'every acknowledged alert on Slack and Discord', async () => JSON.stringify(await deliveryStatuses()));
    const deliveredMs = Date.now() - started;
    await eventually(async () => JSON.stringify(await deliveryStatuses()) === JSON.stringify([{ status: 'delivered', n: TOTAL * 2 }]), 15_000, 'every delivery recorded', async () => JSON.stringify(await deliveryStatuses()));
    // Late repeats (a lease of the dead replica running out) would arrive now.
    await new Promise((r) => setTimeout(r, 1500));

    const onSlack = perAlert(slackTexts(), burst.of);
    const onDiscord = perAlert(discordTexts(), burst.of);
    const lost = [...acked].filter((n) => !onSlack.has(n) || !onDiscord.has(n));
    const duplicates = (counts: Map<number, number>) => [...counts.values()].reduce((sum, c) => sum + c - 1, 0);
    const slackInFlightAtKill = killed!.leases.find((l) => l.destination === 'soc-slack')?.n ?? 0;
    const slackRequests = slack.requests.filter((r) => r.route === SLACK_POST).length;
    const discordRequests = discord.requests.filter((r) => r.route === DISCORD_POST).length;
    const slackPerMessage = slackRequests / onSlack.size;
    const discordPerMessage = discordRequests / onDiscord.size;

    console.log(
      `burst: ${TOTAL} alerts over 3 replicas (one SIGKILLed ${killed!.at - started} ms in (after ${KILL_AFTER} posts) with sends held at ${JSON.stringify(killed!.held)}, holding leases ${JSON.stringify(killed!.leases)}; restarted), ` +
        `answers ${JSON.stringify(answers)}, posted in ${postedMs} ms, all delivered after ${deliveredMs} ms; lost ${lost.length}; ` +
        `duplicates Slack ${duplicates(onSlack)} (bound: ${slackInFlightAtKill} in flight at the kill), Discord ${duplicates(onDiscord)} ` +
        `(nonce repeats answered with the existing message: ${discord.nonceDuplicates}); requests per message Slack ${slackPerMessage.toFixed(3)} ` +
        `(${slackRequests}/${onSlack.size}), Discord ${discordPerMessage.toFixed(3)} (${discordRequests}/${onDiscord.size}); ` +
        `most sends in flight at once per channel ${JSON.stringify(Object.fromEntries(maxInFlight))}`,
    );
    expect(lost).toEqual([]);
    expect(duplicates(onDiscord)).toBe(0);
    expect(duplicates(onSlack)).toBeLessThanOrEqual(slackInFlightAtKill);
    expect(slackPerMessage).toBeLessThanOrEqual(1.05);
    expect(discordPerMessage).toBeLessThanOrEqual(1.05);
    // One delivery per destination in flight across the replicas (point 2).
    expect(Object.fromEntries(maxInFlight)).toEqual({ [`slack:${SLACK_CHANNEL}`]: 1, [`discord:${DISCORD_CHANNEL}`]: 1 });
    expect([...slack.violations, ...discord.violations]).toEqual([]);
  });
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
