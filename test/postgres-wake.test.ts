/**
 * Store wake-ups on PostgreSQL (pg-wake.ts): the channel is the store's schema's, announcements are coalesced and
 * wake a listener of another process (never of the announcing one), and a listener whose connection is terminated
 * comes back, waking its targets once for what it may have missed. Real PostgreSQL, no timing bounds: every wait is
 * for an event.
 */
import { Client } from 'pg';
import { openPgPool } from '../src/delivery/postgres/pool';
import { PgWakeAnnouncer, PgWakeListener, wakeChannel, type WakeTargets } from '../src/delivery/postgres/pg-wake';
import { silentLogger } from '../src/observability/logger';
import { useTestDatabase } from './helpers/postgres';
import { eventually, queryDb } from './helpers/replicas';

const db = useTestDatabase();

/** Targets that count their wake-ups. */
function counting(): WakeTargets & { counts: { deliveries: number; messages: number } } {
  const counts = { deliveries: 0, messages: 0 };
  return { counts, deliveries: () => void counts.deliveries++, messages: () => void counts.messages++ };
}

/** A plain client LISTENing on `channel`, recording every payload (what was actually sent). */
async function spy(channel: string): Promise<{ payloads: string[]; end(): Promise<void> }> {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  const payloads: string[] = [];
  client.on('notification', (n) => payloads.push(n.payload ?? ''));
  await client.query(`LISTEN "${channel}"`);
  return { payloads, end: () => client.end() };
}

const listenerPids = async (instanceId: string) =>
  (await queryDb<{ pid: number }>(db.url, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, [`chatops-bridge listen ${instanceId}`])).map((r) => r.pid);

describe('store wake-ups', () => {
  it('use a channel per schema: the schema name when it is a plain identifier, else a hash of it (channel names are at most 63 bytes)', async () => {
    const schema = `BridgeProd${'x'.repeat(50)}`;
    await queryDb(db.url, `CREATE SCHEMA "${schema}"`);
    const plain = openPgPool(db.url);
    const odd = openPgPool(`${db.url}?options=${encodeURIComponent(`-c search_path="${schema}"`)}`);
    try {
      expect(await wakeChannel(plain)).toBe('chatops_bridge_public');
      const hashed = await wakeChannel(odd);
      expect(hashed).toMatch(/^chatops_bridge_[0-9a-f]{32}$/);
      expect(Buffer.byteLength(hashed)).toBeLessThanOrEqual(63);
    } finally {
      await Promise.all([plain.end(), odd.end()]);
    }
  });

  it('coalesce a burst of announcements, wake a listener of another process by kind, and never the announcing one', async () => {
    const pool = openPgPool(db.url);
    const channel = await wakeChannel(pool);
    const sent = await spy(channel);
    const other = counting();
    const self = counting();
    const listeners = [new PgWakeListener(other, { url: db.url, channel, instanceId: 'worker-b', logger: silentLogger(), secrets: [] }), new PgWakeListener(self, { url: db.url, channel, instanceId: 'receiver-a', logger: silentLogger(), secrets: [] })];
    const announcer = new PgWakeAnnouncer(pool, channel, 'receiver-a', silentLogger());
    try {
      listeners.forEach((l) => l.start());
      // Connected: each listener wakes its targets once, for whatever was announced before it listened.
      await eventually(() => other.counts.deliveries === 1 && self.counts.deliveries === 1, 10_000, 'both listening');

      for (let i = 0; i < 50; i++) announcer.deliveries();
      // One NOTIFY for the first request, one more for the 49 made while it was on its way (and no third after it).
      await eventually(() => sent.payloads.length === 2 && other.counts.deliveries === 3, 10_000, 'the other process woken twice', () => JSON.stringify({ notifications: sent.payloads.length, woken: other.counts }));
      await new Promise((r) => setTimeout(r, 300));
      expect(sent.payloads).toEqual(['deliveries receiver-a', 'deliveries receiver-a']);
      expect(other.counts).toEqual({ deliveries: 3, messages: 1 });

      announcer.messages();
      await eventually(() => other.counts.messages === 2, 10_000, 'the other process woken for messages');
      expect(other.counts.deliveries).toBe(3);
      // Its own announcements do not wake the announcing process (it woke its own loops already).
      expect(self.counts).toEqual({ deliveries: 1, messages: 1 });
    } finally {
      announcer.close();
      await Promise.all(listeners.map((l) => l.stop()));
      await sent.end();
      await pool.end();
    }
  });

  it('reconnect a terminated LISTEN connection, wake once for what was missed, and are woken again', async () => {
    const pool = openPgPool(db.url);
    const channel = await wakeChannel(pool);
    const targets = counting();
    const listener = new PgWakeListener(targets, { url: db.url, channel, instanceId: 'worker-b', logger: silentLogger(), secrets: [] });
    const announcer = new PgWakeAnnouncer(pool, channel, 'receiver-a', silentLogger());
    try {
      listener.start();
      await eventually(() => targets.counts.deliveries === 1, 10_000, 'listening');
      const [first] = await listenerPids('worker-b');
      await queryDb(db.url, 'SELECT pg_terminate_backend($1)', [first]);
      await eventually(() => targets.counts.deliveries === 2 && targets.counts.messages === 2, 15_000, 'the catch-up wake after reconnecting');
      const pids = await listenerPids('worker-b');
      expect(pids).toHaveLength(1);
      expect(pids[0]).not.toBe(first);
      announcer.deliveries();
      await eventually(() => targets.counts.deliveries === 3, 10_000, 'woken by an announcement after the reconnect');
    } finally {
      announcer.close();
      await listener.stop();
      await pool.end();
    }
  });
});
