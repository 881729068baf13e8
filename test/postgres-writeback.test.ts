/**
 * Panther write-back with several replicas on one PostgreSQL: a job is written back by the replica that holds its
 * lease, and by no other. The write-back loop (PantherWriteback) runs for real against a loopback Panther that
 * holds each call until the test lets it answer, as a slow Panther does; the other replica is played through its
 * engine. A lease "running out" is the lease time passing while a replica is busy: the test moves the lease's end
 * instead of waiting the 120 s.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PostgresEngine } from '../src/delivery/postgres/postgres-engine';
import { silentLogger } from '../src/observability/logger';
import { PantherWriteback } from '../src/triage/panther-writeback';
import { parsedAlert } from './helpers/fixtures';
import { until } from './helpers/interactions';
import { createTestDatabase, type TestDatabase } from './helpers/postgres';
import { accept, deliverAll } from './helpers/store-engines';

let db: TestDatabase;
let a: PostgresEngine;
let b: PostgresEngine;
beforeEach(async () => {
  db = await createTestDatabase();
  a = await PostgresEngine.open(db.url, 'replica-a');
  b = await PostgresEngine.open(db.url, 'replica-b');
});
afterEach(async () => {
  await Promise.all([a.close(), b.close()]);
  await db.drop();
});

/**
 * A Panther GraphQL endpoint that records each status update and answers it only when `release()` is called (or at
 * once after `open()`).
 */
async function slowPanther() {
  const calls: string[] = [];
  const waiting: (() => void)[] = [];
  let opened = false;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const { variables } = JSON.parse(raw) as { variables: { input: { ids: string[]; status: string } } };
      calls.push(variables.input.ids[0]!);
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { updateAlertStatusById: { alerts: [] } } }));
      if (opened) answer();
      else waiting.push(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/public/graphql`,
    calls,
    release: () => waiting.splice(0).forEach((answer) => answer()),
    open: () => {
      opened = true;
      waiting.splice(0).forEach((answer) => answer());
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One delivered alert per id, each with one status job waiting to be written back to Panther. */
async function jobsFor(ids: string[]): Promise<void> {
  const now = Date.now() - 1000;
  for (const alertId of ids) await accept(a, parsedAlert({ alertId }), [{ route: 'r', destination: 'slack-1' }]);
  await deliverAll(a, now);
  for (const entry of await a.ledger().list()) await a.triage().enqueueSync(entry.alertRow, 'status', { status: 'TRIAGED' }, now);
}

it('never writes back a job whose lease ran out while the replica was busy with an earlier one', async () => {
  await jobsFor(['w1', 'w2', 'w3']);
  const panther = await slowPanther();
  const writeback = new PantherWriteback({
    store: a,
    config: () => ({ api: { url: panther.url, token: 'k', timeoutMs: 10_000 }, maxAgeMs: 3_600_000 }),
    slack: () => undefined,
    backoff: () => ({ initialMs: 100, maxMs: 1000, factor: 2 }),
    secrets: () => [],
    changed: () => {},
    logger: silentLogger(),
  });
  writeback.start();
  try {
    await until(() => panther.calls.length === 1, 5000, "replica A's first write-back");
    const first = panther.calls[0]!;
    // Replica A waits for Panther on its first job long enough for any lease it holds on the other jobs to run out;
    // replica B then takes those jobs and writes them back.
    await a.pool.query(
      `UPDATE panther_sync SET lease_until = 1 WHERE claimed_by = 'replica-a' AND status = 'pending' AND alert_row NOT IN (SELECT id FROM alerts WHERE alert_id = $1)`,
      [first],
    );
    const others = (await b.triage().dueSyncs(Date.now(), 10, 120_000)).filter((job) => job.alertId !== first);
    expect(others.map((job) => job.alertId).sort()).toEqual(['w1', 'w2', 'w3'].filter((id) => id !== first));
    for (const job of others) await b.triage().finishSync(job, { kind: 'done' }, Date.now());
    panther.release();
    // A finishes its first job and finds nothing more to do: Panther heard of the others from B alone.
    await until(() => panther.calls.length > 1, 1500, 'a second call').catch(() => undefined);
    panther.release();
    expect(panther.calls).toEqual([first]);
    const rows = await a.pool.query<{ alert_id: string; status: string }>(`SELECT a.alert_id, p.status FROM panther_sync p JOIN alerts a ON a.id = p.alert_row ORDER BY a.alert_id`);
    expect(rows.rows).toEqual([
      { alert_id: 'w1', status: 'done' },
      { alert_id: 'w2', status: 'done' },
      { alert_id: 'w3', status: 'done' },
    ]);
  } finally {
    panther.open();
    await writeback.stop();
    await panther.close();
  }
});

it('leaves a job as the replica that took its lease over recorded it: a late outcome of the replica that lost it is not written', async () => {
  await jobsFor(['w1']);
  const now = Date.now();
  const [job] = await a.triage().dueSyncs(now, 10, 1000);
  // A's lease runs out; B takes the job and writes it back.
  const [again] = await b.triage().dueSyncs(now + 1000, 10, 120_000);
  expect(again?.id).toBe(job!.id);
  await b.triage().finishSync(again!, { kind: 'done' }, now + 1500);
  // A's answer from Panther comes late, a failure: it must not turn the job B finished into a dead one.
  await a.triage().finishSync(job!, { kind: 'dead', reason: 'Panther API answered HTTP 500' }, now + 2000);
  const row = await a.pool.query<{ status: string; last_error: string | null }>(`SELECT status, last_error FROM panther_sync WHERE id = $1`, [job!.id]);
  expect(row.rows).toEqual([{ status: 'done', last_error: null }]);
  expect((await a.triage().view(job!.alertRow)).panther).toEqual({ state: 'synced' });
});
