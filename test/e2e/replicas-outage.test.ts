/**
 * Readiness tells the truth per replica, and a PostgreSQL outage loses nothing (issue 16, points 6 and "PostgreSQL
 * restarted mid-run"). Built `serve` processes share one fresh database; the replicas under test reach it through a
 * TCP proxy of the test's own (test/helpers/tcp-proxy.ts), so "PostgreSQL is down" is the proxy resetting every
 * connection and refusing new ones, and "the network drops packets" is the proxy holding them; the machine's shared
 * PostgreSQL server is never stopped.
 *
 * Known failure (main at e5f43b5 and 00e5407): in "PostgreSQL goes away mid-run" a replica dies of an unhandled 'error' event of
 * a pg Client when the connections drop. inTransaction (src/delivery/postgres/pg-session.ts) checks a client out of
 * the pool without listening for its 'error', and node-postgres emits one on a checked-out client whose connection
 * ends (the pool listens on idle clients only). The test stays as it is: it fails until that listener exists.
 */
import { makeAlertPayload } from '../helpers/fixtures';
import { startFakeSlack, type FakeSlack } from '../helpers/fake-slack';
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord';
import { harnessYaml } from '../helpers/bridge-harness';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres';
import { TcpProxy } from '../helpers/tcp-proxy';
import { eventually, getText, postPanther, queryDb, Replica, replicaEnv, startReplicas, writeReplicaConfig } from '../helpers/replicas';

jest.setTimeout(90_000);

/** A fresh database for each test: what one test's replicas leave pending is not another's to deliver. */
let db: TestDatabase;
let slack: FakeSlack;
let discord: FakeDiscord;
let proxy: TcpProxy;
const running: Replica[] = [];

beforeAll(async () => {
  slack = await startFakeSlack();
  discord = await startFakeDiscord();
});
beforeEach(async () => {
  db = await createTestDatabase();
  proxy = await TcpProxy.start('127.0.0.1', 5432);
  slack.reset();
  discord.reset();
  slack.gate = undefined;
  discord.gate = undefined;
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.kill()));
  await proxy.close();
  await db.drop();
});
afterAll(async () => {
  await slack?.close();
  await discord?.close();
});

/** Replicas on the database at `storeUrl` (directly or through the proxy), posting to one Slack and one Discord channel. */
async function replicas(count: number, storeUrl: string, prefix: string): Promise<Replica[]> {
  const webhookUrl = discord.webhookUrl();
  const yaml = harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storeUrl, routesYaml: 'routes:\n  - name: all\n    to: [soc-slack, soc-discord]\n    digest: off' });
  const started = await startReplicas(count, writeReplicaConfig(yaml), replicaEnv(webhookUrl), prefix);
  running.push(...started);
  return started;
}

/** The replica's /readyz status; a replica that died instead fails the test at once, with the end of its log. */
async function readyStatus(r: Replica): Promise<number> {
  const { status } = await getText(r.url ?? 'http://127.0.0.1:9', '/readyz');
  if (!r.alive) throw new Error(`replica ${r.name} died (${r.child.exitCode ?? r.child.signalCode}) instead of reporting itself unready: ${r.stderr().slice(-1500)}`);
  return status;
}
const storeCheck = async (r: Replica) => (JSON.parse((await getText(r.url!, '/readyz')).text) as { checks: { name: string; ok: boolean }[] }).checks.find((c) => c.name === 'store');

describe('each replica tells the truth about itself', () => {
  it('/metrics names the replica; /readyz fails on the replica that cannot reach PostgreSQL (down or partitioned) and recovers', async () => {
    const [viaProxy] = await replicas(1, proxy.via(db.url), 'proxied');
    const [direct] = await replicas(1, db.url, 'direct');

    // The instance id in /metrics is the one the replica's leases carry; two replicas, two ids.
    const info = async (r: Replica) => /^chatops_instance_info\{instance_id="([^"]+)",engine="([^"]+)"[^}]*\} 1$/m.exec((await getText(r.url!, '/metrics')).text)?.slice(1);
    expect(await info(viaProxy!)).toEqual([viaProxy!.instanceId, 'postgres']);
    expect(await info(direct!)).toEqual([direct!.instanceId, 'postgres']);
    expect(viaProxy!.instanceId).not.toEqual(direct!.instanceId);

    expect(await readyStatus(viaProxy!)).toBe(200);
    expect(await readyStatus(direct!)).toBe(200);

    // PostgreSQL "down" for one replica: it says so within the probe's second (plus its one-second cache); the
    // other, which still reaches the database, stays ready.
    proxy.cut();
    let cutAt = Date.now();
    await eventually(async () => (await readyStatus(viaProxy!)) === 503, 5000, 'the proxied replica unready after the cut');
    const unreadyAfterCutMs = Date.now() - cutAt;
    expect(await storeCheck(viaProxy!)).toEqual({ name: 'store', ok: false });
    expect(await readyStatus(direct!)).toBe(200);
    expect((await getText(viaProxy!.url!, '/healthz')).status).toBe(200);
    // Its webhooks refuse with 503 (Panther retries later) rather than accept what they cannot store.
    const refused = await postPanther(viaProxy!.url!, makeAlertPayload({ title: 'During the cut' }));
    expect(refused.status).toBe(503);

    proxy.restore();
    cutAt = Date.now();
    await eventually(async () => (await readyStatus(viaProxy!)) === 200, 10_000, 'the proxied replica ready again');
    const readyAfterRestoreMs = Date.now() - cutAt;

    // A partition: no reset reaches the replica, its queries just get no answer. The probe's timeout says it.
    proxy.partition();
    cutAt = Date.now();
    await eventually(async () => (await readyStatus(viaProxy!)) === 503, 8000, 'the proxied replica unready during a partition');
    const unreadyAfterPartitionMs = Date.now() - cutAt;
    expect(await readyStatus(direct!)).toBe(200);
    proxy.restore();
    await eventually(async () => (await readyStatus(viaProxy!)) === 200, 10_000, 'the proxied replica ready after the partition healed');
    // And it stores alerts again.
    expect((await postPanther(viaProxy!.url!, makeAlertPayload({ title: 'After the partition' }))).status).toBe(200);

    console.log(`readiness: unready ${unreadyAfterCutMs} ms after the cut, ready ${readyAfterRestoreMs} ms after the restore, unready ${unreadyAfterPartitionMs} ms into a partition`);
  });
});

const titleOf = (n: number) => `Outage alert ${n}`;
const numberIn = (text: string) => Number(/Outage alert (\d+)\b/.exec(text)?.[1] ?? NaN);

describe('PostgreSQL goes away mid-run', () => {
  it('both replicas go unready, come back ready, and every alert accepted before the cut is delivered once', async () => {
    const rs = await replicas(2, proxy.via(db.url), 'outage');
    // Slack refuses posts until the cut, so accepted alerts are still pending when the database goes; Discord answers
    // slowly, so sends are in flight at the cut.
    let slackDown = true;
    slack.failNext(1_000_000, 503, (r) => slackDown && r.route === 'chat.postMessage');
    discord.gate = (r) => (r.route === 'POST /channels/:id/messages' ? new Promise((resolve) => setTimeout(resolve, 150)) : undefined);

    const TOTAL = 20;
    const accepted: number[] = [];
    for (let i = 0; i < TOTAL; i++) {
      const res = await postPanther(rs[i % 2]!.url!, makeAlertPayload({ title: titleOf(i) }));
      expect(res.status).toBe(200);
      accepted.push(i);
    }
    await eventually(() => discord.messages.length >= 3, 10_000, 'some Discord posts before the cut');
    const discordBeforeCut = discord.messages.length;

    proxy.cut();
    const cutAt = Date.now();
    for (const r of rs) await eventually(async () => (await readyStatus(r)) === 503, 5000, `${r.name} unready`);
    const unreadyMs = Date.now() - cutAt;
    for (const r of rs) {
      expect((await getText(r.url!, '/healthz')).status).toBe(200);
      expect((await postPanther(r.url!, makeAlertPayload({ title: 'Refused during the cut' }))).status).toBe(503);
    }
    // Slack is fine again while the database is still gone: nothing can be claimed, so nothing moves yet.
    slackDown = false;
    await new Promise((r) => setTimeout(r, 3000));
    proxy.restore();
    const restoredAt = Date.now();
    for (const r of rs) await eventually(async () => (await readyStatus(r)) === 200, 15_000, `${r.name} ready again`);
    const readyMs = Date.now() - restoredAt;

    const delivered = (messages: string[]) => new Set(messages.map(numberIn).filter((n) => !Number.isNaN(n)));
    const slackTexts = () => slack.messages.filter((m) => m.method === 'chat.postMessage').map((m) => String(m.args.text));
    const discordTexts = () => discord.messages.filter((m) => m.kind === 'create').map((m) => JSON.stringify(m.body));
    await eventually(
      () => delivered(slackTexts()).size === TOTAL && delivered(discordTexts()).size === TOTAL,
      45_000,
      'every accepted alert on Slack and Discord',
      async () => JSON.stringify(await queryDb(db.url, `SELECT destination, status, count(*)::int AS n, max(last_reason) AS reason FROM deliveries GROUP BY 1, 2`)),
    );
    const allDeliveredMs = Date.now() - restoredAt;
    await new Promise((r) => setTimeout(r, 1000));

    const slackDuplicates = slackTexts().length - delivered(slackTexts()).size;
    const discordDuplicates = discordTexts().length - delivered(discordTexts()).size;
    expect([...delivered(slackTexts())].sort((a, b) => a - b)).toEqual(accepted);
    expect([...delivered(discordTexts())].sort((a, b) => a - b)).toEqual(accepted);
    expect(discordDuplicates).toBe(0);
    expect(slackDuplicates).toBe(0);
    const statuses = await queryDb<{ status: string; n: number }>(db.url, `SELECT status, count(*)::int AS n FROM deliveries GROUP BY status`);
    expect(statuses).toEqual([{ status: 'delivered', n: TOTAL * 2 }]);
    expect([...slack.violations, ...discord.violations]).toEqual([]);

    console.log(
      `PostgreSQL cut: ${TOTAL} alerts accepted before it (${discordBeforeCut} Discord posts made), both replicas unready ${unreadyMs} ms after the cut, ` +
        `ready ${readyMs} ms after the restore, all delivered ${allDeliveredMs} ms after it; duplicates Slack ${slackDuplicates}, Discord ${discordDuplicates} ` +
        `(Discord nonce repeats answered with the existing message: ${discord.nonceDuplicates})`,
    );
  });
});

describe('a replica stopped while PostgreSQL does not answer', () => {
  it('SIGTERM during a partition: the stop gives up after its budget and the process exits, saying why', async () => {
    // A stop budget of a few seconds: shutdownTimeoutMs 1000 twice, the harness's 2 s request timeout, 5 s to close.
    const webhookUrl = discord.webhookUrl();
    const yaml = harnessYaml({ slackUrl: slack.url, discordApi: discord.api, webhookUrl, storeUrl: proxy.via(db.url), routesYaml: 'routes:\n  - name: all\n    to: [soc-slack, soc-discord]\n    digest: off' }).replace(
      'server: { port: 0, host: 127.0.0.1 }',
      'server: { port: 0, host: 127.0.0.1, shutdownTimeoutMs: 1000 }',
    );
    const [r] = await startReplicas(1, writeReplicaConfig(yaml), replicaEnv(webhookUrl), 'partitioned');
    running.push(r!);
    // Working: an alert goes through, so the pool holds open connections when the network drops.
    expect((await postPanther(r!.url!, makeAlertPayload({ title: 'Before the partition' }))).status).toBe(200);
    await eventually(() => slack.messages.length > 0 && discord.messages.length > 0, 10_000, 'the alert posted');
    // Its heartbeat, its loops and its probe now wait on connections whose packets go nowhere.
    proxy.partition();
    await eventually(async () => (await readyStatus(r!)) === 503, 8000, 'unready during the partition');

    const signalledAt = Date.now();
    r!.child.kill('SIGTERM');
    // A hang, not a speed, is what fails here: the process must end at all (it never did before the budget).
    const code = await Promise.race([r!.exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 45_000))]);
    const exitedAfterMs = Date.now() - signalledAt;
    console.log(`SIGTERM during a partition: ${code === 'still running' ? 'still running' : `exit ${code}`} after ${exitedAfterMs} ms`);
    expect(code).toBe(1);
    expect(r!.stderr()).toMatch(/"budgetMs":9000,"msg":"stop did not finish within its budget \(the store does not answer\): exiting without closing it"/);
    proxy.restore();
  });
});
