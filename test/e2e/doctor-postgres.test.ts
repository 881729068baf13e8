/**
 * `doctor` checks the PostgreSQL store when `store.url` is set (issue 16, point 6): the server answers, every
 * migration is applied, and this machine's clock agrees with the server's. The database is a fresh one of the real
 * server; "unreachable" is a TCP proxy of the test's own that closes every connection (the shared server is never
 * stopped); a skewed clock is a child process whose Date.now() runs ahead or behind (test/helpers/clock-skew.cjs).
 * The database password never reaches the output.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { useTestDatabase } from '../helpers/postgres';
import { TcpProxy } from '../helpers/tcp-proxy';
import { eventually, queryDb, Replica, writeReplicaConfig } from '../helpers/replicas';
import { PG_MIGRATIONS } from '../../src/delivery/postgres/pg-migrations';

/** This release's newest schema version: each migration adds one. */
const LATEST = PG_MIGRATIONS.length;

jest.setTimeout(60_000);

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'main.js');
const CLOCK_SKEW = path.resolve(__dirname, '..', 'helpers', 'clock-skew.cjs');
const PASSWORD = 'doctor-db-password-0001';
const db = useTestDatabase();

interface Check {
  check: string;
  ok: boolean;
  warn?: boolean;
  detail?: string;
  fix?: string;
}

/** The database URL with a password in it (the server trusts 127.0.0.1, so any password connects). */
const withPassword = (url: string) => {
  const u = new URL(url);
  u.password = PASSWORD;
  return u.toString();
};

function configFor(storeUrl: string, extra = ''): string {
  return writeReplicaConfig(`store: { url: "${storeUrl}" }\ndestinations:\n  c: { type: console }\nroutes:\n  - name: all\n    to: [c]\n${extra}`);
}

/** `doctor --json` in a child process (asynchronous: the proxy lives in this process and must keep forwarding). */
function doctor(configFile: string, skewMs = 0): Promise<{ status: number | null; checks: Check[]; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, 'doctor', '--json', '--config', configFile], {
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: `--require ${CLOCK_SKEW}`, CB_TEST_CLOCK_SKEW_MS: String(skewMs) },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => void (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
  return new Promise((resolve) =>
    child.once('close', (status) => {
      let checks: Check[] = [];
      try {
        checks = JSON.parse(stdout) as Check[];
      } catch {
        /* the assertions show stdout */
      }
      resolve({ status, checks, stdout, stderr });
    }),
  );
}

/** The skew `database clock` reports, in ms (its sign is in the words). */
const skewIn = (checks: Check[]) => Number(/clock is (\d+) ms/.exec(checks.find((c) => c.check === 'database clock')?.detail ?? '')?.[1] ?? NaN);
const databaseChecks = (checks: Check[]) => checks.filter((c) => c.check.startsWith('database'));

describe('doctor with a PostgreSQL store', () => {
  it('reports pending migrations on a fresh database, and all clear once migrated; the password is never shown', async () => {
    const file = configFor(withPassword(db.url));
    const fresh = await doctor(file);
    expect(fresh.status).toBe(1);
    const shown = withPassword(db.url).replace(PASSWORD, '***');
    expect(databaseChecks(fresh.checks)).toEqual([
      { check: 'database', ok: true, detail: expect.stringMatching(new RegExp(`^${shown.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(PostgreSQL 15\\.\\d+\\)$`)) },
      {
        check: 'database schema',
        ok: false,
        detail: expect.stringMatching(new RegExp(`^version 0 of ${LATEST}; pending: 1 \\(.+\\), 2 \\(active replicas: .+\\), 3 \\(each replica's clock skew .+\\)(, \\d+ \\(.+\\)){${LATEST - 3}}$`)),
        fix: 'run `chatops-bridge migrate` (serve also applies them when it starts)',
      },
      { check: 'database clock', ok: true, detail: expect.stringMatching(/^this machine's clock is \d+ ms (ahead of|behind) the server's \(±\d+ ms\)$/) },
    ]);

    const migrated = spawnSync(process.execPath, [MAIN, 'migrate', '--config', file], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
    expect(migrated.status).toBe(0);
    const after = await doctor(file);
    expect(after.status).toBe(0);
    expect(databaseChecks(after.checks).map((c) => [c.check, c.ok, c.warn])).toEqual([
      ['database', true, undefined],
      ['database schema', true, undefined],
      ['database clock', true, undefined],
      ['database replicas', true, undefined],
    ]);
    expect(after.checks.find((c) => c.check === 'database schema')!.detail).toBe(`version ${LATEST}, no pending migrations`);
    expect(after.checks.find((c) => c.check === 'database replicas')!.detail).toBe('no replica serving the database now');
    for (const run of [fresh, after]) expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('refuses a database a newer release migrated', async () => {
    const file = configFor(db.url);
    await queryDb(db.url, `INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')`);
    try {
      const result = await doctor(file);
      expect(result.status).toBe(1);
      expect(result.checks.find((c) => c.check === 'database schema')).toEqual({
        check: 'database schema',
        ok: false,
        detail: `has versions 99, newer than this release knows (${LATEST})`,
        fix: 'a newer chatops-bridge migrated this database: run that release (or newer)',
      });
    } finally {
      await queryDb(db.url, `DELETE FROM schema_migrations WHERE version = 99`);
    }
  });

  it('fails, with a fix and without the password, when PostgreSQL does not answer', async () => {
    const proxy = await TcpProxy.start('127.0.0.1', 5432);
    try {
      const file = configFor(withPassword(proxy.via(db.url)));
      proxy.cut();
      const result = await doctor(file);
      expect(result.status).toBe(1);
      // Nothing else about the database can be checked without it.
      expect(databaseChecks(result.checks)).toEqual([
        {
          check: 'database',
          ok: false,
          // The driver's words for a connection the proxy closes: which one depends on when the close lands.
          detail: expect.stringMatching(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/cb_test_\w+: (Connection terminated unexpectedly|read ECONNRESET)$/),
          fix: 'PostgreSQL not reachable: check store.url (host, port, database, user, password), the network, and that the server runs',
        },
      ]);
      expect(result.stdout + result.stderr).not.toContain(PASSWORD);
      expect(proxy.connections).toBeGreaterThan(0);

      // The same proxy forwarding again: reachable.
      proxy.restore();
      const back = await doctor(file);
      expect(databaseChecks(back.checks).map((c) => [c.check, c.ok])).toEqual([
        ['database', true],
        ['database schema', true],
        ['database clock', true],
        ['database replicas', true],
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('warns when this clock is seconds off the server, and fails at half the lease', async () => {
    const file = configFor(db.url, 'delivery: { leaseMs: 20000 }\n');
    const ahead = await doctor(file, 5000);
    expect(ahead.status).toBe(0);
    expect(ahead.checks.find((c) => c.check === 'database clock')).toEqual({
      check: 'database clock',
      ok: true,
      warn: true,
      detail: expect.stringMatching(/^this machine's clock is \d+ ms ahead of the server's \(±\d+ ms\): more than 2000 ms$/),
      fix: 'synchronise the clocks of every replica and of the database server (NTP, chrony)',
    });
    // The measured skew is the one the child was given (to within the round trip and the machine's own few ms).
    expect(Math.abs(skewIn(ahead.checks) - 5000)).toBeLessThan(100);
    const behind = await doctor(file, -3000);
    expect(behind.status).toBe(0);
    expect(behind.checks.find((c) => c.check === 'database clock')).toMatchObject({ ok: true, warn: true, detail: expect.stringMatching(/^this machine's clock is \d+ ms behind the server's/) });
    expect(Math.abs(skewIn(behind.checks) - 3000)).toBeLessThan(100);
    // Half of the 20 s lease: a replica this far off could take over a send another replica still has in flight.
    const far = await doctor(file, 10_500);
    expect(far.status).toBe(1);
    expect(far.checks.find((c) => c.check === 'database clock')).toEqual({
      check: 'database clock',
      ok: false,
      detail: expect.stringMatching(/ahead of the server's \(±\d+ ms\): half the lease \(delivery\.leaseMs 20000\) or more, replicas could send a delivery twice$/),
      fix: 'synchronise the clocks of every replica and of the database server (NTP, chrony)',
    });
  });

  it('lists the replicas serving the database with the clock skew each one measured, and fails on a replica half a lease off', async () => {
    const file = configFor(db.url, 'server: { port: 0, host: 127.0.0.1 }\ndelivery: { leaseMs: 20000 }\n');
    const serving = [
      new Replica('on-time', file, {}),
      new Replica('drifted', file, { NODE_OPTIONS: `--require ${CLOCK_SKEW}`, CB_TEST_CLOCK_SKEW_MS: '3500' }),
    ];
    try {
      await Promise.all(serving.map((r) => r.listening()));
      // Each replica's clock is read at start and every 5 s after; a reading during the busy start may be left out.
      await eventually(async () => (await queryDb<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM replicas WHERE clock_skew_ms IS NOT NULL`))[0]!.n === 2, 15_000, 'both clocks read');
      // doctor runs on a machine whose clock is right: the drifted replica shows through its own heartbeat.
      const warned = await doctor(file);
      expect(warned.status).toBe(0);
      const replicas = warned.checks.find((c) => c.check === 'database replicas')!;
      expect(replicas).toMatchObject({ ok: true, warn: true, fix: 'synchronise the clocks of every replica and of the database server (NTP, chrony)' });
      expect(replicas.detail).toMatch(/^2 serving: .+ pid \d+ \(v[\d.]+, clock [+-]\d+ ms\), .+ pid \d+ \(v[\d.]+, clock [+-]\d+ ms\): 1 more than 2000 ms off the server's clock$/);
      const skews = [...replicas.detail!.matchAll(/clock ([+-]\d+) ms/g)].map((m) => Number(m[1])).sort((x, y) => Math.abs(x) - Math.abs(y));
      expect(skews.map((ms) => Math.abs(ms) < 100)).toEqual([true, false]);
      expect(Math.abs(skews[1]! - 3500)).toBeLessThan(100);
      expect(warned.checks.find((c) => c.check === 'database clock')).toMatchObject({ ok: true });
      expect(warned.checks.find((c) => c.check === 'database clock')!.warn).toBeUndefined();

      // A third replica 11 s ahead: half the 20 s lease.
      const far = new Replica('far', file, { NODE_OPTIONS: `--require ${CLOCK_SKEW}`, CB_TEST_CLOCK_SKEW_MS: '11000' });
      serving.push(far);
      await far.listening();
      await eventually(async () => (await queryDb<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM replicas WHERE clock_skew_ms IS NOT NULL`))[0]!.n === 3, 15_000, 'the third clock read');
      const failed = await doctor(file);
      expect(failed.status).toBe(1);
      expect(failed.checks.find((c) => c.check === 'database replicas')).toMatchObject({ ok: false, detail: expect.stringMatching(/clock \+\d+ ms\) off by half the lease \(delivery\.leaseMs 20000\) or more, replicas could send a delivery twice$/) });

      // A replica that stops forgets its row: it is not listed as serving.
      await Promise.all(serving.slice(1).map((r) => r.stop()));
      const after = await doctor(file);
      expect(after.checks.find((c) => c.check === 'database replicas')).toMatchObject({ ok: true, detail: expect.stringMatching(/^1 serving: /) });
      expect(after.checks.find((c) => c.check === 'database replicas')!.warn).toBeUndefined();
    } finally {
      await Promise.all(serving.map((r) => r.kill()));
      // Killed replicas stay listed until their heartbeat is 15 s old: the next test must not see them.
      await queryDb(db.url, `DELETE FROM replicas`);
    }
  });

  it('fails on a replica whose clock is off by more than an int4 of milliseconds (about 25 days), not "not measured yet"', async () => {
    const file = configFor(db.url, 'server: { port: 0, host: 127.0.0.1 }\n');
    // A host that booted with a wrong date and no NTP: 30 days ahead, beyond what clock_skew_ms (integer) holds.
    const lost = new Replica('a-month-ahead', file, { NODE_OPTIONS: `--require ${CLOCK_SKEW}`, CB_TEST_CLOCK_SKEW_MS: String(30 * 86_400_000) });
    try {
      await lost.listening();
      // Three heartbeats (at start, then every 5 s): a reading left out at the busy start has had two more chances.
      const beats = new Set<string>();
      await eventually(
        async () => {
          for (const r of await queryDb<{ seen: string }>(db.url, `SELECT seen_at::text AS seen FROM replicas`)) beats.add(r.seen);
          return beats.size >= 3;
        },
        20_000,
        'three heartbeats',
      );
      const result = await doctor(file);
      console.log(`a replica 30 days ahead: ${JSON.stringify(result.checks.find((c) => c.check === 'database replicas'))}`);
      expect(result.status).toBe(1);
      expect(result.checks.find((c) => c.check === 'database replicas')).toMatchObject({ ok: false, detail: expect.stringMatching(/off by half the lease/) });
    } finally {
      await lost.kill();
      await queryDb(db.url, `DELETE FROM replicas`);
    }
  });

  it('prints warn and the fix on a terminal, and counts the warning in the summary', () => {
    const file = configFor(db.url);
    const command = [process.execPath, MAIN, 'doctor', '--config', file].map((a) => `'${a}'`).join(' ');
    const result = spawnSync('script', ['-qec', command, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', TERM: 'dumb', NODE_OPTIONS: `--require ${CLOCK_SKEW}`, CB_TEST_CLOCK_SKEW_MS: '4000' },
      encoding: 'utf8',
    });
    const out = result.stdout.replace(/\r\n/g, '\n');
    expect(result.status).toBe(0);
    expect(out).toMatch(/^warn {2}database clock +this machine's clock is \d+ ms ahead of the server's \(±\d+ ms\): more than 2000 ms\n {6}fix: synchronise the clocks/m);
    expect(out).toMatch(new RegExp(`^ok {4}database schema +version ${LATEST}, no pending migrations$`, 'm'));
    expect(out).toMatch(/\nall 7 checks passed \(1 with a warning\)\n$/);
  });
});
