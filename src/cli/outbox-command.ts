import type { Command } from 'commander';
import type { StoreConfig } from '../config/schema';
import type { DeliveryStatus } from '../delivery/status';
import { whileTransient } from '../delivery/lock-wait';
import type { StoreEngine } from '../delivery/store-contract';
import { openCliEngine, storeLabel } from './store-engine';
import type { LedgerEntry } from '../delivery/ledger';
import { parseDuration } from '../domain/duration';

/** How long a CLI write waits for a lock a running `serve` or another command holds (blocking is harmless here). */
const CLI_LOCK_WAIT_MS = 10_000;

export { parseDuration } from '../domain/duration';

function table(entries: LedgerEntry[]): string {
  if (entries.length === 0) return 'no deliveries\n';
  const rows = entries.map((e) => [
    String(e.id),
    e.status,
    e.destination,
    e.route,
    e.severity,
    e.alertId ?? '-',
    String(e.attempts) + (e.rateLimited > 0 ? `+${e.rateLimited}rl` : ''),
    e.messageRef ? Object.values(e.messageRef).join('/') : e.lastReason ?? '',
    e.title.length > 60 ? `${e.title.slice(0, 59)}…` : e.title,
  ]);
  const header = ['ID', 'STATUS', 'DESTINATION', 'ROUTE', 'SEVERITY', 'ALERT', 'TRIES', 'MESSAGE / LAST REASON', 'TITLE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.replace(/\s+/g, ' ').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.replace(/\s+/g, ' ').padEnd(widths[i]!)).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/**
 * `outbox list|retry|purge`: the delivery ledger for operators, on the config's store (safe while `serve` runs:
 * SQLite WAL, or PostgreSQL beside the replicas). `storeOf` resolves the config lazily so each subcommand reports
 * config problems. A write waits up to {@link CLI_LOCK_WAIT_MS} for a lock held elsewhere.
 */
export function addOutboxCommands(program: Command, storeOf: (configFile?: string) => StoreConfig, fail: (message: string) => never): void {
  const outbox = program.command('outbox').description('inspect and repair the delivery ledger (dead letters, resend, purge)');
  /** Runs `work` on the config's store and closes it; a store that cannot be opened is a failure naming it. */
  const withStore = async <T>(options: { config?: string }, work: (engine: StoreEngine) => Promise<T>): Promise<T> => {
    const store = storeOf(options.config);
    let engine: StoreEngine;
    try {
      engine = await openCliEngine(store);
    } catch (error) {
      fail(`cannot open the store ${storeLabel(store)}: ${(error as Error).message}`);
    }
    try {
      return await whileTransient(() => work(engine), (error) => engine.isTransient(error), CLI_LOCK_WAIT_MS);
    } finally {
      await engine.close();
    }
  };

  outbox
    .command('list')
    .description('deliveries, newest first: status, attempts, last reason, message reference')
    .option('-c, --config <file>', 'config file')
    .option('-s, --status <status>', 'pending | delivered | dead')
    .option('-a, --alert <id>', 'only this source alert id (Panther alertId)')
    .option('-n, --limit <n>', 'at most this many rows', '100')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { config?: string; status?: string; alert?: string; limit: string; json?: boolean }) => {
      if (options.status && !['pending', 'delivered', 'dead'].includes(options.status)) fail(`--status must be pending, delivered or dead`);
      const entries = await withStore(options, (engine) =>
        engine.ledger().list({
          ...(options.status ? { status: options.status as DeliveryStatus } : {}),
          ...(options.alert ? { alertId: options.alert } : {}),
          limit: Math.max(1, Number(options.limit) || 100),
        }),
      );
      process.stdout.write(options.json ? `${JSON.stringify(entries, null, 2)}\n` : table(entries));
    });

  outbox
    .command('retry')
    .description('requeue dead deliveries (never re-sends a delivered one)')
    .argument('[ids...]', 'delivery ids (from outbox list)')
    .option('-c, --config <file>', 'config file')
    .option('--all-dead', 'every dead delivery')
    .action(async (ids: string[], options: { config?: string; allDead?: boolean }) => {
      if (!options.allDead && ids.length === 0) fail('name delivery ids or --all-dead');
      const numbers = ids.map(Number);
      if (numbers.some((n) => !Number.isInteger(n) || n <= 0)) fail('delivery ids are positive integers');
      const result = await withStore(options, (engine) => engine.ledger().requeue(options.allDead ? 'all-dead' : numbers, Date.now()));
      process.stdout.write(`${JSON.stringify(result)}\n`);
      if (result.requeued.length === 0 && result.skipped.length > 0 && !options.allDead) process.exitCode = 1;
    });

  outbox
    .command('purge')
    .description('delete finished (delivered or dead) history older than a duration')
    .requiredOption('--older-than <duration>', 'e.g. 30d, 12h')
    .option('-c, --config <file>', 'config file')
    .action(async (options: { config?: string; olderThan: string }) => {
      const ms = parseDuration(options.olderThan);
      if (ms === null) fail('--older-than takes a duration like 30d, 12h, 90m or 45s');
      const result = await withStore(options, (engine) => engine.ledger().purge(ms, Date.now()));
      process.stdout.write(`${JSON.stringify(result)}\n`);
    });
}
