/**
 * The first hour of a new user, with the built CLI in a fresh directory (issue 15): `--version` and `--help`,
 * `check` / `doctor` / `render` without a config file, `serve` without a config listening on 127.0.0.1 only and
 * saying per webhook how to open it, `./.env` read at start with the environment winning, the README's test alert
 * answered `duplicate` with a reason after a restart, and `npm start` stopping the server on SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'main.js');
const TEST_ALERT = path.join(ROOT, 'examples', 'panther-test-alert.json');
const PACKAGE = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; description: string; scripts: { start: string } };

const freshDir = () => mkdtempSync(path.join(os.tmpdir(), 'cb-first-run-'));
/** Only PATH from this environment: what the user did not set must be unset. */
const run = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [MAIN, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });

interface Serve {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}
const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function startServe(cwd: string, env: Record<string, string> = {}): Serve {
  const child = spawn(process.execPath, [MAIN, 'serve'], { cwd, env: { PATH: process.env.PATH ?? '', PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  child.stdout!.resume();
  return { child, stderr: () => stderr, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

/** The JSON log lines written so far. */
const logLines = (stderr: string): Record<string, unknown>[] =>
  stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

async function listening(serve: Serve): Promise<{ port: number; host: string }> {
  for (let i = 0; i < 200; i++) {
    const line = logLines(serve.stderr()).find((l) => l.msg === 'chatops-bridge listening');
    if (line) return { port: line.port as number, host: line.host as string };
    if (serve.child.exitCode !== null) throw new Error(`serve exited ${serve.child.exitCode}: ${serve.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`serve did not listen: ${serve.stderr()}`);
}

async function stop(serve: Serve): Promise<number | null> {
  serve.child.kill('SIGTERM');
  return serve.exited;
}

/** An IPv4 address of this machine other than loopback, if it has one. */
const externalAddress = () =>
  Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

const connects = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const postTestAlert = async (port: number) => {
  const res = await fetch(`http://127.0.0.1:${port}/webhooks/panther`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: readFileSync(TEST_ALERT) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('the CLI says what it is', () => {
  it('--version and -V print the version of package.json', () => {
    for (const flag of ['--version', '-V']) {
      const result = run([flag], freshDir());
      expect([result.status, result.stdout]).toEqual([0, `${PACKAGE.version}\n`]);
    }
  });

  it('--help and package.json name all three sources', () => {
    const help = run(['--help'], freshDir()).stdout.replace(/\s+/g, ' ');
    for (const text of [help, PACKAGE.description]) {
      expect(text).toMatch(/Panther/);
      expect(text).toMatch(/Alertmanager/);
      expect(text).toMatch(/Grafana/);
    }
  });
});

describe('without a config file', () => {
  it('check checks the built-in default and says so', () => {
    const result = run(['check'], freshDir());
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('built-in default: OK (1 destination, 1 route)\n');
    expect(result.stderr).toMatch(/no config file \(\.\/chatops-bridge\.yaml\); using the built-in default/);
  });

  it('doctor checks the built-in default and says so', () => {
    const result = run(['doctor'], freshDir());
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('built-in default (no ./chatops-bridge.yaml)');
  });

  it('a named config file that does not exist is still an error', () => {
    expect(run(['check', '--config', 'missing.yaml'], freshDir()).status).toBe(1);
  });

  it('render --template NAME for a template that does not exist exits 1 naming it and the known ones', () => {
    const result = run(['render', '--alert', TEST_ALERT, '--template', 'nosuch'], freshDir());
    expect(result.status).toBe(1);
    const out = JSON.parse(result.stdout) as { error: string; issues: { path: string; message: string }[] };
    expect(out.error).toBe('unknown_template');
    expect(out.issues[0]!.message).toMatch(/^no template "nosuch" in \.\/templates or the shipped templates \(known: compact, default/);
    expect(run(['render', '--alert', TEST_ALERT, '--template', 'compact'], freshDir()).status).toBe(0);
  });

  it('serve without tokens listens on 127.0.0.1 only and says per webhook how to open it', async () => {
    const serve = startServe(freshDir());
    const { port, host } = await listening(serve);
    expect(host).toBe('127.0.0.1');
    const external = externalAddress();
    if (external) expect(await connects(external, port)).toBe(false);
    expect(await connects('127.0.0.1', port)).toBe(true);
    const warnings = logLines(serve.stderr()).filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings).toEqual([
      expect.stringMatching(/^no config file/),
      '/webhooks/panther accepts posts without a token: set PANTHER_WEBHOOK_TOKEN to require the X-Panther-Token header',
      '/webhooks/alertmanager accepts posts without a token: set AM_WEBHOOK_TOKEN to require Authorization: Bearer <token>',
      '/webhooks/grafana accepts posts without a token: set GRAFANA_WEBHOOK_TOKEN to require Authorization: Bearer <token>',
      'the bridge listens on 127.0.0.1 only (a local trial) while a webhook has no token: set the variables above, or HOST=0.0.0.0, to accept webhooks from other machines',
    ]);
    // A warning about no key of any file has no "path" field, rather than an empty one.
    expect(serve.stderr()).not.toContain('"path":""');
    expect(await stop(serve)).toBe(0);
  });

  it('serve with every webhook token set listens on all interfaces, warning of nothing open', async () => {
    const serve = startServe(freshDir(), { PANTHER_WEBHOOK_TOKEN: 'p-token-1', AM_WEBHOOK_TOKEN: 'am-token-1', GRAFANA_WEBHOOK_TOKEN: 'g-token-1' });
    const { host } = await listening(serve);
    expect(host).toBe('0.0.0.0');
    const warnings = logLines(serve.stderr()).filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings).toEqual([expect.stringMatching(/^no config file/)]);
    expect(await stop(serve)).toBe(0);
  });

  it('serve with HOST=0.0.0.0 and open webhooks listens everywhere and says which are open to anyone', async () => {
    const serve = startServe(freshDir(), { HOST: '0.0.0.0', PANTHER_WEBHOOK_TOKEN: 'p-token-1' });
    const { host } = await listening(serve);
    expect(host).toBe('0.0.0.0');
    expect(logLines(serve.stderr()).map((l) => l.msg)).toContain('HOST=0.0.0.0: /webhooks/alertmanager, /webhooks/grafana accept posts from anyone who can reach this port');
    expect(await stop(serve)).toBe(0);
  });

  it("the README's test alert posted again after a restart answers duplicate with the reason", async () => {
    const cwd = freshDir();
    const first = startServe(cwd);
    const accepted = await postTestAlert((await listening(first)).port);
    expect(accepted).toEqual({ status: 200, body: { status: 'accepted', alertId: 'Test.Alert', deliveries: [{ route: 'everything', destination: 'console', status: 'pending' }] } });
    expect(await stop(first)).toBe(0);
    const second = startServe(cwd);
    const again = await postTestAlert((await listening(second)).port);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({
      status: 'duplicate',
      reason: expect.stringMatching(/^same alert already accepted at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      alertId: 'Test.Alert',
      deliveries: [{ route: 'everything', destination: 'console', status: 'delivered' }],
    });
    // The time is the first accept's, not this one's.
    const at = Date.parse(String(again.body.reason).replace('same alert already accepted at ', ''));
    expect(at).toBeLessThan(Date.now());
    expect(Date.now() - at).toBeLessThan(60_000);
    expect(await stop(second)).toBe(0);
  });
});

describe('./.env', () => {
  it('is read at start; a variable already in the environment wins', () => {
    const cwd = freshDir();
    writeFileSync(path.join(cwd, '.env'), '# from the file\nSLACK_BOT_TOKEN=xoxb-from-dotenv\nexport CHANNEL="C0123456789"\nPANTHER_WEBHOOK_TOKEN=from-dotenv\n');
    writeFileSync(
      path.join(cwd, 'chatops-bridge.yaml'),
      'slack: { token: "${SLACK_BOT_TOKEN}" }\nsources: { panther: { auth: { tokens: ["${PANTHER_WEBHOOK_TOKEN}"] } } }\ndestinations: { s: { type: slack, channel: "${CHANNEL}" } }\nroutes: [{ name: r, to: [s] }]\n',
    );
    const fromFile = run(['check'], cwd);
    expect([fromFile.status, fromFile.stdout]).toEqual([0, './chatops-bridge.yaml: OK (1 destination, 1 route)\n']);
    // The environment's value wins: an empty one is "set", and the config says it is empty.
    const fromEnv = run(['check'], cwd, { SLACK_BOT_TOKEN: '' });
    expect(fromEnv.status).toBe(1);
    expect(fromEnv.stderr).toMatch(/slack\.token/);
  });

  it('serve logs which names it set and which the environment kept, never a value', async () => {
    const cwd = freshDir();
    writeFileSync(path.join(cwd, '.env'), 'PANTHER_WEBHOOK_TOKEN=dotenv-secret-1\nAM_WEBHOOK_TOKEN=dotenv-secret-2\n');
    const serve = startServe(cwd, { AM_WEBHOOK_TOKEN: 'env-secret-3' });
    await listening(serve);
    const read = logLines(serve.stderr()).find((l) => l.msg === 'read .env');
    expect(read).toMatchObject({ file: '.env', set: ['PANTHER_WEBHOOK_TOKEN'], keptFromEnvironment: ['AM_WEBHOOK_TOKEN'] });
    expect(serve.stderr()).not.toMatch(/secret-\d/);
    // The file's Panther token is in force.
    const res = await fetch(`http://127.0.0.1:${(await listening(serve)).port}/webhooks/panther`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: readFileSync(TEST_ALERT) });
    expect(res.status).toBe(401);
    expect(await stop(serve)).toBe(0);
  });

  it('the shipped .env.example and example config check OK together, as the README says', () => {
    const cwd = freshDir();
    writeFileSync(path.join(cwd, '.env'), readFileSync(path.join(ROOT, '.env.example')));
    writeFileSync(path.join(cwd, 'chatops-bridge.yaml'), readFileSync(path.join(ROOT, 'examples', 'chatops-bridge.yaml')));
    const result = run(['check'], cwd);
    expect(result.status).toBe(0);
  });
});

describe('npm start', () => {
  const childrenOf = (pid: number): number[] => {
    const file = `/proc/${pid}/task/${pid}/children`;
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('a SIGTERM to npm stops the server it started, which runs with the heap flags', async () => {
    const dir = freshDir();
    const config = path.join(dir, 'c.yaml');
    writeFileSync(config, `server: { port: 0 }\nstore: { path: ${path.join(dir, 'store.db')} }\ndestinations: { c: { type: console } }\nroutes: [{ name: r, to: [c] }]\n`);
    const npm = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, CHATOPS_BRIDGE_CONFIG: config, LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(npm);
    let stderr = '';
    npm.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    npm.stdout!.resume();
    const serve: Serve = { child: npm, stderr: () => stderr, exited: new Promise((resolve) => npm.once('exit', (code) => resolve(code))) };
    await listening(serve);
    // Everything npm started (a shell, node), and the node process serving, wherever it sits below npm.
    const below = (pid: number): number[] => childrenOf(pid).flatMap((child) => [child, ...below(child)]);
    const argvOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const started = below(npm.pid!);
    const node = started.find((pid) => path.basename(argvOf(pid)[0]!) === 'node' && argvOf(pid).includes('dist/main.js'));
    try {
      expect(node).toBeDefined();
      expect(argvOf(node!)).toEqual(expect.arrayContaining(['--max-semi-space-size=2', '--heap-growing-percent=50', 'dist/main.js', 'serve']));
      npm.kill('SIGTERM');
      await serve.exited;
      for (let i = 0; i < 100 && started.some(alive); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(started.filter(alive)).toEqual([]);
      expect(logLines(stderr).map((l) => l.msg)).toEqual(expect.arrayContaining(['stopping: no new webhooks, finishing in-flight deliveries', 'chatops-bridge stopped']));
    } finally {
      for (const pid of started.filter(alive)) process.kill(pid, 'SIGKILL');
    }
  });
});
