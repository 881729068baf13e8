import type { Command } from 'commander';
import { sqliteMigrationStatus } from '../delivery/migration-status';
import { OutboxStore } from '../delivery/store';

/**
 * `migrate [--check]`: the store's schema migrations. `serve` applies them itself at start; this lets an operator
 * see what a new release will do to a store before rolling it out (`--check`: list, change nothing; exit 1 when
 * steps are pending, so a deploy script can tell), or apply them ahead of time. Safe beside a running `serve`:
 * each step is one transaction that re-reads the version first.
 */
export function addMigrateCommand(program: Command, storePath: (configFile?: string) => string, fail: (message: string) => never): void {
  program
    .command('migrate')
    .description("apply the store's schema migrations now (serve does at start); --check lists pending ones without changing anything")
    .option('-c, --config <file>', 'config file')
    .option('--check', 'list pending migrations, change nothing; exit 1 when any is pending')
    .action((options: { config?: string; check?: boolean }) => {
      const path = storePath(options.config);
      let before;
      try {
        before = sqliteMigrationStatus(path);
      } catch (error) {
        fail(`cannot read the store ${path}: ${(error as Error).message}`);
      }
      if (options.check) {
        process.stdout.write(`${JSON.stringify(before, null, 2)}\n`);
        process.exitCode = before.pending.length > 0 ? 1 : 0;
        return;
      }
      try {
        new OutboxStore(path).close();
      } catch (error) {
        fail(`cannot migrate the store ${path}: ${(error as Error).message}`);
      }
      process.stdout.write(`${JSON.stringify({ store: path, from: before.current, to: before.latest, applied: before.pending }, null, 2)}\n`);
    });
}
