import type Database from 'better-sqlite3';

/**
 * Base of the stores that share the outbox database: `sql(text)` prepares each statement once (the worker and
 * editor run the same queries on every loop turn) and reuses it afterwards.
 */
export abstract class StatementCache {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(protected readonly db: Database.Database) {}

  protected sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }
}
