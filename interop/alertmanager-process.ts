/**
 * The real Alertmanager as a child process for interop tests: Debian's `prometheus-alertmanager` binary (installed
 * with apt-get when missing), run directly — never the system service — on 127.0.0.1 with temporary storage and
 * clustering off, configured with one `webhook_configs` receiver pointing at the bridge.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ALERTMANAGER_BINARY = '/usr/bin/prometheus-alertmanager';

/** Installs the Debian package when the binary is missing; throws a clear message when that is not possible. */
export function ensureAlertmanager(): void {
  if (existsSync(ALERTMANAGER_BINARY)) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus-alertmanager'], { stdio: 'inherit', env });
  } catch (error) {
    throw new Error(
      `${ALERTMANAGER_BINARY} is missing and could not be installed with apt-get (${(error as Error).message}). ` +
        'Install it as root: apt-get update && apt-get install -y prometheus-alertmanager',
    );
  }
  if (!existsSync(ALERTMANAGER_BINARY)) throw new Error(`apt-get ran but ${ALERTMANAGER_BINARY} is still missing`);
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RunningAlertmanager {
  url: string;
  /** Its log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface AlertmanagerOptions {
  /** Listen on this port (default: a free one). */
  port?: number;
  /** How often a firing alert is notified again (default 1h). */
  repeatInterval?: string;
  /** Another webhook receiving every notification too (no auth), e.g. a recorder of what Alertmanager sends. */
  alsoNotify?: string;
}

/** Starts Alertmanager with every alert in its own group, sent at once to `webhookUrl` with a bearer token. */
export async function startAlertmanager(webhookUrl: string, token: string, options: AlertmanagerOptions = {}): Promise<RunningAlertmanager> {
  ensureAlertmanager();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cb-interop-am-'));
  const port = options.port ?? (await freePort());
  writeFileSync(
    path.join(dir, 'alertmanager.yml'),
    `global:
  resolve_timeout: 5m
route:
  receiver: bridge
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: ${options.repeatInterval ?? '1h'}
receivers:
  - name: bridge
    webhook_configs:
      - url: ${webhookUrl}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: ${JSON.stringify(token)}${
              options.alsoNotify
                ? `
      - url: ${options.alsoNotify}
        send_resolved: true`
                : ''
            }
`,
  );
  const logFile = path.join(dir, 'alertmanager.log');
  writeFileSync(logFile, '');
  const out = openSync(logFile, 'a');
  const proc: ChildProcess = spawn(
    ALERTMANAGER_BINARY,
    [`--config.file=${dir}/alertmanager.yml`, `--storage.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
    { stdio: ['ignore', out, out] },
  );
  const url = `http://127.0.0.1:${port}`;
  const log = () => readFileSync(logFile, 'utf8');
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`alertmanager exited (${proc.exitCode}): ${log()}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`alertmanager not ready after 15 s: ${log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

/** Posts alerts to Alertmanager's v2 API, as Prometheus does. */
export async function fireAlerts(am: RunningAlertmanager, alerts: unknown[]): Promise<void> {
  const res = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
  if (!res.ok) throw new Error(`POST /api/v2/alerts: HTTP ${res.status} ${await res.text()}`);
}
