/**
 * Disk work of accepts off the event loop (issue 14, point 3): a group commit with a log syncer answers a POST only
 * after the log is synced, a failed sync fails the POST and every later sync until a restart, the
 * syncer finds the log SQLite writes, and the checkpoint thread copies the log into the database
 * file while the store's own connection no longer checkpoints on every 1,000 pages. Issue 17: the checkpoints run
 * wherever a runner is attached (the delivery thread's connection, test/e2e/wal-checkpoints.test.ts), and the
 * store's connection checkpoints on commit again while none is.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import Database from 'better-sqlite3';
import { OutboxStore } from '../src/delivery/store';
import { GroupCommit } from '../src/delivery/group-commit';
import { WalSync } from '../src/delivery/wal-sync';
import { startLogHousekeeping } from '../src/delivery/store-open';
import { CheckpointThread } from '../src/delivery/checkpoint-thread';
import { Checkpointer, type CheckpointOutcome, type CheckpointRunner } from '../src/delivery/checkpointer';
import { SqliteEngine } from '../src/delivery/sqlite-engine';
import { parsedAlert } from './helpers/fixtures';

const tmpDir = () => mkdtempSync(path.join(os.tmpdir(), 'cb-wal-'));
const targets = [{ route: 'r', destination: 'slack' }];
const silent = pino({ level: 'silent' });

/** A log syncer the test releases by hand: what the group commit must wait for. */
function heldSync() {
  const waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  return {
    calls: () => waiting.length,
    sync: () => new Promise<void>((resolve, reject) => waiting.push({ resolve, reject })),
    release: () => waiting.splice(0).forEach((w) => w.resolve()),
    fail: (error: Error) => waiting.splice(0).forEach((w) => w.reject(error)),
  };
}

describe('group commit with the log synced off the event loop', () => {
  it('answers a POST only once the log sync after its commit is done', async () => {
    const store = new OutboxStore(path.join(tmpDir(), 'outbox.db'));
    const log = heldSync();
    const group = new GroupCommit(store, log);
    let settled = false;
    const accepted = group.accept([{ alert: parsedAlert({ alertId: 'a' }), targets }]).then((r) => ((settled = true), r));
    await new Promise((r) => setTimeout(r, 50));
    expect(log.calls()).toBe(1);
    expect(settled).toBe(false);
    log.release();
    expect((await accepted)[0]!.status).toBe('accepted');
    store.close();
  });

  it('fails the POST when the sync fails; once a sync succeeds again (after a restart, see WalSync) the retry is a duplicate of the stored copy', async () => {
    const store = new OutboxStore(path.join(tmpDir(), 'outbox.db'));
    const log = heldSync();
    const group = new GroupCommit(store, log);
    const first = group.accept([{ alert: parsedAlert({ alertId: 'b' }), targets }]);
    await new Promise((r) => setTimeout(r, 20));
    log.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await expect(first).rejects.toThrow('EIO');
    const retry = group.accept([{ alert: parsedAlert({ alertId: 'b' }), targets }]);
    await new Promise((r) => setTimeout(r, 20));
    log.release();
    expect((await retry)[0]!.status).toBe('duplicate');
    store.close();
  });
});

describe('WalSync', () => {
  it('syncs the log beside the real file of a store opened through a symlink; many callers share syncs', async () => {
    const dir = tmpDir();
    const real = path.join(dir, 'real.db');
    new OutboxStore(real).close();
    symlinkSync(real, path.join(dir, 'link.db'));
    const store = new OutboxStore(path.join(dir, 'link.db'));
    const walFile = store.walFile()!;
    expect(walFile).toBe(`${real}-wal`);
    expect(statSync(walFile).isFile()).toBe(true);
    const wal = new WalSync(walFile);
    await Promise.all(Array.from({ length: 100 }, () => wal.sync()));
    await wal.close();
    store.close();
  });

  it('syncs the log SQLite writes when the path goes up (..) out of a symbolic link to a directory, as SQLite resolves it', async () => {
    const dir = tmpDir();
    mkdirSync(path.join(dir, 'real', 'sub'), { recursive: true });
    symlinkSync(path.join(dir, 'real', 'sub'), path.join(dir, 'link'));
    // SQLite follows link to real/sub, then goes up to real/; read as text, the path names dir/outbox.db.
    const viaLink = `${dir}/link/../outbox.db`; // not path.join: it would remove link/.. as text
    const sqlites = `${path.join(dir, 'real', 'outbox.db')}-wal`;
    const store = new OutboxStore(viaLink);
    expect(store.walFile()).toBe(sqlites);
    store.close();
    // Where the text of the path points, another store's log (left by a crash, or in use): never the one to sync.
    new OutboxStore(path.join(dir, 'outbox.db')).close();
    writeFileSync(path.join(dir, 'outbox.db-wal'), '');
    const again = new OutboxStore(viaLink);
    expect(again.walFile()).toBe(sqlites);
    const housekeeping = startLogHousekeeping(again, silent, 'own thread');
    expect(housekeeping.walSync).toBeDefined();
    await housekeeping.walSync!.sync();
    await housekeeping.stop();
    again.close();
  });

  it('fails every later sync once one failed: frames that may be lost come before every later commit in the log', async () => {
    // A FIFO: open works, fdatasync fails (EINVAL), as a disk that refuses the write makes it fail (EIO).
    const file = path.join(tmpDir(), 'outbox.db-wal');
    execFileSync('mkfifo', [file]);
    const failures: Error[] = [];
    const wal = new WalSync(file, (error) => failures.push(error));
    await expect(wal.sync()).rejects.toThrow(/EINVAL/);
    rmSync(file);
    writeFileSync(file, ''); // syncable now: a later fdatasync would succeed
    await expect(wal.sync()).rejects.toThrow(/EINVAL/);
    await expect(Promise.all([wal.sync(), wal.sync()])).rejects.toThrow(/EINVAL/);
    expect(wal.failure?.message).toMatch(/EINVAL/);
    expect(failures).toHaveLength(1); // said once
    await wal.close();
  });

  it('rejects, naming the file, when the log cannot be opened; that alone is no failed sync', async () => {
    const file = path.join(tmpDir(), 'none.db-wal');
    const wal = new WalSync(file);
    await expect(wal.sync()).rejects.toThrow(/ENOENT.*none\.db-wal/);
    writeFileSync(file, '');
    await expect(wal.sync()).resolves.toBeUndefined();
    expect(wal.failure).toBeUndefined();
    await wal.close();
  });

  it('keeps the log open between syncs, on the live file through commits and checkpoints, and closes it', async () => {
    const dir = tmpDir();
    const store = new OutboxStore(path.join(dir, 'outbox.db'));
    const walFile = store.walFile()!;
    /** This process's descriptors on the log (SQLite's own too), by number; a deleted file reads "… (deleted)". */
    const onLog = () =>
      readdirSync('/proc/self/fd')
        .map((fd) => { try { return `${fd} ${readlinkSync(`/proc/self/fd/${fd}`)}`; } catch { return ''; } })
        .filter((entry) => entry.includes(walFile))
        .sort();
    const wal = new WalSync(walFile);
    const other = new Database(path.join(dir, 'outbox.db'));
    other.pragma('user_version'); // opens its log now
    let kept: string[] | undefined;
    for (let i = 0; i < 20; i++) {
      store.accept(parsedAlert({ alertId: `keep-${i}` }), targets);
      // Another connection checkpoints and restarts the log from its start: the same file, written again.
      if (i % 5 === 4) other.pragma('wal_checkpoint(TRUNCATE)');
      const before = onLog();
      await wal.sync();
      kept ??= onLog().filter((entry) => !before.includes(entry));
      expect(kept).toHaveLength(1);
      expect(kept[0]).toMatch(new RegExp(`^\\d+ ${walFile}$`));
      expect(onLog()).toEqual(i === 0 ? [...before, ...kept].sort() : before); // opened once, never again
    }
    await wal.close();
    expect(onLog()).not.toContain(kept![0]);
    await expect(wal.sync()).rejects.toThrow(/no longer synced/);
    other.close();
    store.close();
  });

  it('is not used for a store in memory', () => {
    const store = new OutboxStore(':memory:');
    expect(store.walFile()).toBeUndefined();
    expect(startLogHousekeeping(store, silent, 'own thread').walSync).toBeUndefined();
    store.close();
  });
});

describe('checkpoint thread', () => {
  it('backs off and says so once while checkpoints keep failing, instead of every tenth of a second', async () => {
    const file = path.join(tmpDir(), 'garbage.db');
    writeFileSync(file, Buffer.alloc(8192, 7)); // "file is not a database": every checkpoint fails
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
    const checkpoints = new Checkpointer({ setAutoCheckpoint: () => undefined, writeMark: () => 'idle' }, logger);
    const thread = new CheckpointThread(file, checkpoints, logger);
    await new Promise((r) => setTimeout(r, 2500));
    checkpoints.stop();
    await thread.close();
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(2);
    expect(warnings[0]).toMatch(/WAL checkpoint failed/);
  });


  it('copies the log into the database file off the event loop; the store connection checkpoints only as a backstop', async () => {
    const file = path.join(tmpDir(), 'outbox.db');
    const store = new OutboxStore(file);
    const housekeeping = startLogHousekeeping(store, silent, 'own thread');
    try {
      const pages = () => (new Database(file, { readonly: true, fileMustExist: true }).pragma('wal_autocheckpoint', { simple: true }) as number);
      expect(pages()).toBe(1000); // another connection keeps SQLite's default
      const before = statSync(file).size;
      // ~12 MB of alerts: above the 1,000 pages (4 MB) at which the store used to checkpoint on commit, below the
      // backstop (32 MB), so only the thread can have moved them into the database file.
      const big = 'x'.repeat(400_000);
      for (let i = 0; i < 30; i++) store.acceptGroups([[{ alert: parsedAlert({ alertId: `c${i}`, title: `t${i} ${big}` }), targets }]], Date.now(), 'caller-syncs');
      expect(statSync(file).size - before).toBeLessThan(1_000_000);
      const deadline = Date.now() + 5000;
      while (statSync(file).size - before < 10_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(statSync(file).size - before).toBeGreaterThan(10_000_000);
    } finally {
      await housekeeping.stop();
      store.close();
    }
  });
});

describe('checkpointer', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const until = async (check: () => boolean, what: string) => {
    const deadline = Date.now() + 5000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  };

  it('hands the checkpoints to a runner and back; a runner that dies with one in flight leaves nothing stuck, and the next is asked', async () => {
    const settings: number[] = [];
    // A store written to all the time: its mark differs at every tick.
    let writes = 0;
    const checkpoints = new Checkpointer({ setAutoCheckpoint: (pages) => void settings.push(pages), writeMark: () => String(writes++) }, silent);
    const asked: string[] = [];
    // A delivery thread that died while it ran a checkpoint: its answer never comes.
    const dead: CheckpointRunner = { checkpoint: () => (asked.push('dead'), new Promise<CheckpointOutcome>(() => undefined)) };
    const next: CheckpointRunner = { checkpoint: async () => (asked.push('next'), { ok: true, log: 0, checkpointed: 0 }) };
    checkpoints.attach(dead);
    await until(() => asked.length === 1, 'the first runner asked');
    await sleep(300);
    expect(asked).toEqual(['dead']); // one at a time: the next waits for its answer
    checkpoints.detach(dead);
    await sleep(300);
    expect(asked).toEqual(['dead']); // none asked while none is attached
    checkpoints.attach(next);
    await until(() => asked.filter((a) => a === 'next').length >= 3, 'the next runner asked again and again');
    // The store's connection: the backstop while a runner checkpoints, SQLite's default while none does.
    expect(settings).toEqual([8192, 1000, 8192]);
    checkpoints.stop();
    const count = asked.length;
    checkpoints.attach(dead);
    await sleep(300);
    expect(asked).toHaveLength(count);
    expect(settings).toEqual([8192, 1000, 8192]); // stopped: the store's close checkpoints what is left
  });

  it('asks the runner again only once something was written since it last had nothing to do', async () => {
    let mark = 'a';
    const checkpoints = new Checkpointer({ setAutoCheckpoint: () => undefined, writeMark: () => mark }, silent);
    const asked: number[] = [];
    let outcome: CheckpointOutcome = { ok: true, log: 10, checkpointed: 0 }; // a short log: nothing to do
    checkpoints.attach({ checkpoint: async () => (asked.push(Date.now()), outcome) });
    await until(() => asked.length === 1, 'the runner asked');
    await sleep(500);
    expect(asked).toHaveLength(1); // idle: not asked every 100 ms
    await sleep(1200); // idle for over a second: a burst after it is still noticed at the next 100 ms tick
    mark = 'b'; // a commit
    const written = Date.now();
    await until(() => asked.length === 2, 'the runner asked after a write');
    expect(asked[1]! - written).toBeLessThanOrEqual(250);
    // A long log a reader kept from being copied to its end: asked again at each tick although nothing was written.
    outcome = { ok: true, log: 5000, checkpointed: 4000 };
    mark = 'c';
    await until(() => asked.length >= 5, 'the runner asked while frames are left');
    outcome = { ok: true, log: 5000, checkpointed: 5000 };
    await sleep(300);
    const settled = asked.length;
    await sleep(500);
    expect(asked).toHaveLength(settled); // copied to its end: idle again
    checkpoints.stop();
  });

  it("marks every commit to the store, its own connection's and another's, and nothing else", () => {
    const file = path.join(tmpDir(), 'outbox.db');
    const store = new OutboxStore(file);
    const other = new Database(file);
    try {
      const first = store.writeMark();
      expect(store.writeMark()).toBe(first);
      store.counts(); // a read
      expect(store.writeMark()).toBe(first);
      store.accept(parsedAlert({ alertId: 'own' }), targets);
      const afterOwn = store.writeMark();
      expect(afterOwn).not.toBe(first);
      other.prepare('UPDATE deliveries SET updated_at = updated_at + 1').run();
      expect(store.writeMark()).not.toBe(afterOwn);
    } finally {
      other.close();
      store.close();
    }
  });

  it("runs on the store's own connection after the work queued before it, copies a long log, and is skipped when told", async () => {
    const file = path.join(tmpDir(), 'outbox.db');
    const store = new OutboxStore(file);
    store.setAutoCheckpoint(0); // only the checkpoints under test copy the log
    const engine = new SqliteEngine(store);
    try {
      const big = 'x'.repeat(400_000);
      for (let i = 0; i < 30; i++) store.acceptGroups([[{ alert: parsedAlert({ alertId: `e${i}`, title: `t${i} ${big}` }), targets }]], Date.now(), 'caller-syncs');
      const before = statSync(file).size;
      await expect(engine.checkpoint(1000, () => true)).resolves.toBeUndefined();
      expect(statSync(file).size).toBe(before);
      // Asked while a transaction is open (SQLite refuses a checkpoint inside one): it waits for the commit.
      let opened!: () => void;
      const isOpen = new Promise<void>((resolve) => (opened = resolve));
      const open = engine.transaction(async (tx) => {
        await tx.counts();
        opened();
        await sleep(50);
        return store.inTransaction;
      });
      await isOpen;
      const copied = await engine.checkpoint(1000, () => false);
      expect(await open).toBe(true);
      expect(copied!.log).toBeGreaterThan(1000);
      expect(copied!.checkpointed).toBe(copied!.log);
      expect(statSync(file).size - before).toBeGreaterThan(10_000_000);
      // A short log is left alone (below SQLite's own 1,000 pages): only its size is read.
      store.accept(parsedAlert({ alertId: 'short' }), targets);
      expect(await engine.checkpoint(1000, () => false)).toMatchObject({ checkpointed: 0 });
    } finally {
      await engine.close();
    }
  });
});
