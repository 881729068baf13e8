/**
 * Replicas of the built bridge (`node dist/main.js serve`, as production runs it) on one PostgreSQL database, each
 * a child process on its own port, for the multi-replica end-to-end tests (issue 16). A replica can be stopped
 * gracefully (SIGTERM), killed without a word (SIGKILL: no lease handed back, no record of a send in flight) and
 * started again with the same config. Nothing here reaches into a replica: it is driven over HTTP and read through
 * its log, its /metrics and the shared database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { PANTHER_TOKEN } from './bridge-harness';

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'main.js');

/** The environment every replica gets (the harness YAML reads its tokens from it). */
export function replicaEnv(webhookUrl: string): Record<string, string> {
  return { PANTHER_TOKEN, SLACK_BOT_TOKEN: 'xoxb-test', DISCORD_BOT_TOKEN: 'discord-test-token', DISCORD_WEBHOOK_URL: webhookUrl };
}

/** Writes `yaml` to a config file of its own and returns its path. */
export function writeReplicaConfig(yaml: string): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cb-replica-')), 'bridge.yaml');
  writeFileSync(file, yaml);
  return file;
}

export class Replica {
  readonly child: ChildProcess;
  /** Resolves with the exit code (null after a signal) when the process has gone. */
  readonly exited: Promise<number | null>;
  private log = '';

  /** `args`: more options of `serve` (e.g. `['--role', 'worker']`). */
  constructor(
    readonly name: string,
    configFile: string,
    env: Record<string, string>,
    args: readonly string[] = [],
  ) {
    this.child = spawn(process.execPath, [MAIN, 'serve', '--config', configFile, ...args], {
      env: { ...process.env, ...env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // Only the start of the log is kept whole (where the port and instance id are); the rest is bounded.
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.log += chunk.toString();
      if (this.log.length > 400_000) this.log = this.log.slice(0, 100_000) + this.log.slice(-200_000);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** What the replica logged so far (stderr, JSON lines). */
  stderr(): string {
    return this.log;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** `http://127.0.0.1:PORT` once the replica logged that it listens. */
  get url(): string | undefined {
    const m = /"port":(\d+).*"msg":"chatops-bridge listening"/.exec(this.log);
    return m && this.alive ? `http://127.0.0.1:${m[1]}` : undefined;
  }

  /** The instance id the replica's leases carry (from its "store opened" log line). */
  get instanceId(): string | undefined {
    return /"instanceId":"([^"]+)".*"msg":"store opened \(PostgreSQL\)/.exec(this.log)?.[1];
  }

  /** Resolves once the replica listens; rejects with its log when it exits first or takes longer than `timeoutMs`. */
  async listening(timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.url) {
      if (!this.alive) throw new Error(`replica ${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before listening: ${this.log.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`replica ${this.name} not listening after ${timeoutMs} ms: ${this.log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return this.url;
  }

  /** SIGKILL: the process dies at once, holding whatever leases it had. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: a graceful stop; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.alive) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** Starts `count` replicas on one config and waits until every one listens. */
export async function startReplicas(count: number, configFile: string, env: Record<string, string>, prefix = 'r'): Promise<Replica[]> {
  const replicas = Array.from({ length: count }, (_, i) => new Replica(`${prefix}${i + 1}`, configFile, env));
  await Promise.all(replicas.map((r) => r.listening()));
  return replicas;
}

/** A GET of `path` on a replica: status and body text (never throws on a refused connection: status 0). */
export async function getText(url: string, urlPath: string, timeoutMs = 5000): Promise<{ status: number; text: string }> {
  try {
    const res = await fetch(`${url}${urlPath}`, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch (error) {
    return { status: 0, text: (error as Error).message };
  }
}

/** POSTs a Panther payload to a replica. Status 0 with the error's words when the request failed on the wire. */
export async function postPanther(url: string, payload: unknown, timeoutMs = 15_000): Promise<{ status: number; body: any }> {
  try {
    const res = await fetch(`${url}/webhooks/panther`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-panther-token': PANTHER_TOKEN },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* keep text */
    }
    return { status: res.status, body };
  } catch (error) {
    return { status: 0, body: (error as Error).message };
  }
}

/** One query on the test database (read-only assertions about the shared store). */
export async function queryDb<T extends Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Polls `check` (sync or async) until it is true; fails with `what` and the last `describe()` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, describe?: () => string | Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describe ? `: ${await describe()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
