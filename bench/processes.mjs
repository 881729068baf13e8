/** The processes under test: the built bridge and (optionally) Alertmanager, each with an RSS sampler. */
import { spawn, execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, openSync, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { limitCpu } from './cpu-limit.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'bench-webhook-token';

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function rssSampler(pid) {
  let peak = 0;
  const read = () => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      peak = Math.max(peak, kb);
      return kb / 1024;
    } catch {
      return 0;
    }
  };
  const timer = setInterval(read, 100);
  return { rssMb: read, peakRssMb: () => Math.max(peak / 1024, read()), stop: () => clearInterval(timer) };
}

async function waitHttp(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`bench: ${url} did not come up`);
}

/** `--cpu-limit`: millicores for each bridge and Alertmanager process, each in a cgroup of its own (cpu-limit.mjs). */
let cpuLimitMillicores;
export function setCpuLimit(millicores) {
  cpuLimitMillicores = millicores;
}
/** The cgroups of the processes started under a limit: their throttling, summed, for the bench's report. */
const limits = new Map();
export function throttling(pids) {
  const sum = { periods: 0, throttled: 0, throttledMs: 0 };
  for (const pid of pids) for (const [k, v] of Object.entries(limits.get(pid)?.stats() ?? {})) sum[k] += v;
  return sum;
}

/** Every process started here is killed when the bench exits, whatever happened (no stray bridges burning CPU). */
const started = new Set();
process.on('exit', () => {
  for (const proc of started) if (proc.exitCode === null) proc.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** Puts a process just spawned under the `--cpu-limit`, if any: before it reads its limit (the delivery thread does). */
function underCpuLimit(proc) {
  if (cpuLimitMillicores === undefined) return;
  const limit = limitCpu(proc.pid, cpuLimitMillicores);
  limits.set(proc.pid, limit);
  proc.once('exit', () => limit.remove());
}

function stopper(proc, sampler) {
  started.add(proc);
  return () =>
    new Promise((resolve) => {
      sampler.stop();
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
}

/**
 * The bridge as the image and `npm start` run it: `node --max-semi-space-size=2 --heap-growing-percent=50 dist/main.js serve --config <yaml>`
 * (`BENCH_NODE_FLAGS=none`: `node dist/main.js serve`, with the heap settings the bridge sets itself),
 * SQLite on disk (or `pgUrl`: the PostgreSQL database it shares with other replicas), JSON logs to a file.
 * `pace: null` keeps the platforms' default pace; `digest: 'default'` keeps the burst digest on; `role` is
 * `serve --role` (PostgreSQL only); `thread: false` delivers on the main event loop (`delivery.thread`).
 */
export async function startBridge({ work, fakePort, digest, pace, pgUrl, role, thread }) {
  const dir = mkdtempSync(path.join(work, 'bridge-'));
  const port = await freePort();
  const paceYaml = pace ? `, pace: { limit: ${pace.limit}, windowMs: ${pace.windowMs} }` : '';
  const config = `
server: { port: ${port}, host: 127.0.0.1 }
store: { ${pgUrl ? `url: "${pgUrl}"` : `path: "${dir}/outbox.db"`} }
sources: { panther: { auth: { tokens: ["\${PANTHER_WEBHOOK_TOKEN}"] } } }
${thread === false ? 'delivery: { thread: false }' : ''}
slack: { token: "\${SLACK_BOT_TOKEN}", apiUrl: "http://127.0.0.1:${fakePort}/api/", botId: B0BENCH, botUserId: U0BENCH }
discord: { token: "\${DISCORD_BOT_TOKEN}", apiUrl: "http://127.0.0.1:${fakePort}/api" }
destinations:
  soc-slack: { type: slack, channel: C0BENCH001${paceYaml} }
  soc-discord: { type: discord, channel: "1100000000000000001"${paceYaml} }
routes:
  - name: all
    to: [soc-slack, soc-discord]
${digest === 'off' ? '    digest: off' : ''}
`;
  writeFileSync(path.join(dir, 'bridge.yaml'), config);
  const log = openSync(path.join(dir, 'bridge.log'), 'a');
  // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the bridge (written when it stops).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...(process.env.BENCH_NODE_FLAGS === 'none' ? [] : ['--max-semi-space-size=2', '--heap-growing-percent=50']), ...nodeArgs, path.join(root, 'dist/main.js'), 'serve', '--config', path.join(dir, 'bridge.yaml'), ...(role ? ['--role', role] : [])], {
    cwd: dir,
    env: { ...process.env, PANTHER_WEBHOOK_TOKEN: TOKEN, SLACK_BOT_TOKEN: 'xoxb-bench', DISCORD_BOT_TOKEN: 'bench-token', LOG_FORMAT: 'json' },
    stdio: ['ignore', log, log],
  });
  underCpuLimit(proc);
  const sampler = rssSampler(proc.pid);
  try {
    await waitHttp(`http://127.0.0.1:${port}/healthz`, 15_000);
  } catch (error) {
    proc.kill();
    throw new Error(`${error.message}:\n${readFileSync(path.join(dir, 'bridge.log'), 'utf8').slice(0, 2000)}`);
  }
  return {
    job: { target: 'bridge', url: `http://127.0.0.1:${port}/webhooks/panther`, token: TOKEN },
    messagesPerAlert: 2,
    pids: [proc.pid],
    // Where its /metrics is (chatops_thread_cpu_seconds_total: the main and delivery threads' CPU).
    metricsUrls: [`http://127.0.0.1:${port}/metrics`],
    rssMb: sampler.rssMb,
    peakRssMb: sampler.peakRssMb,
    stop: stopper(proc, sampler),
  };
}

/**
 * `replicas` bridges on one PostgreSQL database (`pgUrl`), each on its own port, as one target: the load
 * generator spreads its POSTs over their URLs round-robin (alert i to replica i mod N). Started one after the
 * other, so their migrations never race (they would be safe anyway: the migrations take an advisory lock).
 * `roles` (one per replica, `serve --role`): the POSTs go to the replicas that receive, never to a worker.
 */
export async function startReplicas({ replicas, roles, ...options }) {
  const bridges = [];
  try {
    for (let i = 0; i < replicas; i++) bridges.push(await startBridge({ ...options, role: roles?.[i] }));
  } catch (error) {
    await Promise.all(bridges.map((b) => b.stop()));
    throw error;
  }
  return {
    job: { ...bridges[0].job, url: undefined, urls: bridges.filter((_, i) => roles?.[i] !== 'worker').map((b) => b.job.url) },
    messagesPerAlert: 2,
    pids: bridges.flatMap((b) => b.pids),
    metricsUrls: bridges.flatMap((b) => b.metricsUrls),
    rssMb: () => bridges.reduce((sum, b) => sum + b.rssMb(), 0),
    peakRssMb: () => Math.max(...bridges.map((b) => b.peakRssMb())),
    stop: () => Promise.all(bridges.map((b) => b.stop())).then(() => undefined),
  };
}

/** Debian's prometheus-alertmanager, installed with apt-get when missing, clustering off, on 127.0.0.1. */
export async function startAlertmanager({ work, fakePort, port }) {
  const binary = '/usr/bin/prometheus-alertmanager';
  if (!existsSync(binary)) {
    console.error('bench: installing prometheus-alertmanager with apt-get …');
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus-alertmanager'], { stdio: 'inherit' });
  }
  const dir = mkdtempSync(path.join(work, 'am-'));
  writeFileSync(
    path.join(dir, 'alertmanager.yml'),
    `route:
  receiver: chat
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: chat
    slack_configs:
      - api_url: http://127.0.0.1:${fakePort}/slack-hook
        channel: '#bench'
        send_resolved: false
    discord_configs:
      - webhook_url: http://127.0.0.1:${fakePort}/api/webhooks/1100000000000000009/bench-token
        send_resolved: false
`,
  );
  const log = openSync(path.join(dir, 'alertmanager.log'), 'a');
  const proc = spawn(binary, [`--config.file=${dir}/alertmanager.yml`, `--storage.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: ['ignore', log, log] });
  underCpuLimit(proc);
  const sampler = rssSampler(proc.pid);
  await waitHttp(`http://127.0.0.1:${port}/-/ready`, 15_000);
  return {
    job: { target: 'alertmanager', url: `http://127.0.0.1:${port}/api/v2/alerts` },
    messagesPerAlert: 2,
    pids: [proc.pid],
    rssMb: sampler.rssMb,
    peakRssMb: sampler.peakRssMb,
    stop: stopper(proc, sampler),
  };
}

/** A helper process (fake, load) spoken to over IPC: `next()` awaits its next message, `ask(msg)` sends and awaits. */
export function forkChild(file) {
  const proc = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue = [];
  proc.on('message', (m) => queue.shift()?.(m));
  const next = () => new Promise((resolve) => queue.push(resolve));
  return { proc, next, ask: (msg) => { const p = next(); proc.send(msg); return p; } };
}
