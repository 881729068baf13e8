// npm run bench [-- --runs 3] [-- --peer alertmanager] [-- --only throughput,latency,accept,ratelimit,burst]
//                [-- --store sqlite,postgres] [-- --replicas 1,3] [-- --roles split] [-- --cpu-limit 250]
// Starts the built bridge (dist/, real YAML config, SQLite on disk), a loopback fake of Slack and Discord and a
// load generator, each in its own process, runs every scenario --runs times and prints medians (min–max).
// Before the throughput and latency scenarios it measures the bridge at rest (CPU per second and RSS, 15 s from
// 15 s after start: V8 shrinks the heap about 10 s after start), and Alertmanager's likewise with --peer alertmanager.
// With --cpu-limit M, each bridge and Alertmanager process runs in a cgroup of its own limited to M millicores (a
// CFS quota, as a container's CPU limit; root and the cgroup cpu controller needed, see cpu-limit.mjs).
// With --peer alertmanager, Debian's prometheus-alertmanager runs the throughput and latency scenarios too,
// against the same fake, and the table gets its row and the ratios.
// With --store postgres (--replicas N, default 1; a list runs each), the throughput scenario also runs on N
// replicas sharing one fresh PostgreSQL database (POSTs round-robin over them), its runs interleaved with the
// SQLite bridge's, and a second table sets each configuration's accepted/s and CPU per accepted alert (bridges,
// and PostgreSQL's processes apart) beside SQLite's, with ratios. With --roles split (and --store postgres), one
// more configuration: 1 receiver + 2 workers (serve --role), the POSTs to the receiver, the workers woken by
// NOTIFY. The other scenarios run on SQLite only.
import { mkdtempSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBridge, startAlertmanager, freePort, forkChild, setCpuLimit, throttling } from './processes.mjs';
import { checkCpuLimit } from './cpu-limit.mjs';
import { measureCpu, startPostgresConfig, storeConfigs, storeTable } from './stores.mjs';
import { schedCpuNs, threadCpuMs } from './cpu.mjs';
import { median, percentile, peakPerWindow, fmt } from './stats.mjs';
import { compareToPeer } from './compare.cjs';
import { acceptScenario } from './accept.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const RUNS = Number(opt('runs', '3'));
const PEER = opt('peer', '');
const ONLY = new Set((opt('only', 'throughput,latency,accept,ratelimit,burst')).split(','));
let CONFIGS;
try {
  CONFIGS = storeConfigs(opt('store', 'sqlite'), opt('replicas', undefined), opt('roles', 'all'));
  if (CONFIGS.length > 1 && !ONLY.has('throughput')) throw new Error('bench: --store postgres measures the throughput scenario: keep throughput in --only');
} catch (error) {
  console.error(error.message);
  process.exit(2);
}
const CPU_LIMIT = opt('cpu-limit', undefined);
if (CPU_LIMIT !== undefined) {
  try {
    checkCpuLimit(Number(CPU_LIMIT));
  } catch (error) {
    console.error(error.message);
    process.exit(2);
  }
  setCpuLimit(Number(CPU_LIMIT));
}
if (!existsSync(path.join(root, 'dist/main.js'))) {
  console.error('bench: build first (npm run build)');
  process.exit(2);
}

const child = (file) => forkChild(path.join(here, file));

const fake = child('fake-chat.mjs');
const { port: fakePort } = await fake.next();
const load = child('load.mjs');
await load.next();
const work = mkdtempSync(path.join(os.tmpdir(), 'cb-bench-'));
let tagSeq = 0;
const tag = () => `r${process.pid}x${++tagSeq}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(50);
  }
}

const channelsOf = (s, prefix) => Object.entries(s.channels).filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
const delivered = (s) => Object.values(s.channels).reduce((n, ch) => n + Object.keys(ch.ids).length, 0);

/**
 * Target = the bridge(s) or Alertmanager, with how to post to it and how many messages one alert becomes. With
 * `target.cpu` (the bridges), the CPU of its processes is measured from before the first POST until the fake has
 * every message.
 */
async function throughput(target, n) {
  await fake.ask({ cmd: 'reset' });
  // What the previous run (perhaps of another configuration) left to finish settles outside the measurement.
  await sleep(1000);
  const job = { ...target.job, runTag: tag(), ids: [0, n], mode: 'concurrent', concurrency: 8 };
  const cpu = target.cpu?.();
  const threadsBefore = target.metricsUrls ? await threadCpuMs(target.metricsUrls) : null;
  const t0 = Date.now();
  cpu?.start();
  const result = await load.ask(job);
  const postingMs = Date.now() - t0;
  const cpuPosting = cpu?.read();
  const acceptedPerSec = n / ((result.endedAt - result.startedAt) / 1000);
  const stats = await waitFor(async () => {
    const s = await fake.ask({ cmd: 'stats' });
    return delivered(s) >= n * target.messagesPerAlert ? s : null;
  }, CPU_LIMIT === undefined ? 120_000 : 900_000, 'all delivered');
  const cpuMs = cpu?.read();
  cpu?.stop();
  const threadsAfter = threadsBefore && (await threadCpuMs(target.metricsUrls));
  // Per thread name, ms over the run (the counters tick in 10 ms steps, so the figure is read to 10 ms).
  // A thread missing from the first read (the delivery thread not ready yet) has no figure for this run.
  const threads = threadsAfter ? Object.fromEntries(Object.entries(threadsAfter).map(([name, ms]) => [name, threadsBefore[name] === undefined ? null : ms - threadsBefore[name]])) : null;
  const intervalMs = Date.now() - t0;
  const last = Math.max(...Object.values(stats.channels).flatMap((ch) => Object.values(ch.ids)));
  const accepted = Object.entries(result.statuses).reduce((sum, [code, count]) => (code.startsWith('2') ? sum + count : sum), 0);
  return { acceptedPerSec, allDeliveredS: (last - result.startedAt) / 1000, sent: n, accepted, cpu: cpuMs, threads, intervalMs, cpuPosting, postingMs, duplicates: stats.duplicates };
}

/**
 * A pause before each latency run. The run before it ends when its last message arrives, and Discord's global
 * limit of 50 requests per second per bot (which discord.js keeps to, and the bridge with it) counts per second:
 * a run started at once found that second's requests mostly spent by the previous run's last ones, and its first
 * Discord messages waited for the next second, up to a second each, in one run of every three (the outliers of
 * 0.4–0.7 s in the unloaded p99). Unloaded means nothing of the previous run still counts.
 */
const LATENCY_QUIET_MS = 1500;

async function latency(target, mode, n) {
  await sleep(LATENCY_QUIET_MS);
  await fake.ask({ cmd: 'reset' });
  const job = { ...target.job, runTag: tag(), ids: [0, n], ...(mode === 'rate' ? { mode: 'rate', rate: 200 } : { mode: 'serial', gapMs: 50 }) };
  const result = await load.ask(job);
  const stats = await waitFor(async () => {
    const s = await fake.ask({ cmd: 'stats' });
    return delivered(s) >= n * target.messagesPerAlert ? s : null;
  }, CPU_LIMIT === undefined ? 120_000 : 900_000, 'all delivered');
  const arrivals = (prefix) => Object.entries(stats.channels).filter(([k]) => k.startsWith(prefix)).flatMap(([, ch]) => Object.entries(ch.ids).map(([id, t]) => t - result.starts[id]));
  const samples = arrivals('');
  // Per platform too: Discord's 50 requests/s per bot caps one bot channel below 200 messages/s, whatever sends.
  const slack = arrivals('slack');
  const discord = arrivals('discord');
  return { p50: percentile(samples, 50), p90: percentile(samples, 90), p99: percentile(samples, 99), slackP99: percentile(slack, 99), discordP99: percentile(discord, 99) };
}

async function rateLimited(n) {
  await fake.ask({ cmd: 'reset', rateLimit: { slack: { limit: 1, windowMs: 1000 }, discord: { limit: 1, windowMs: 1000 } } });
  const bridge = await startBridge({ work, fakePort, digest: 'off', pace: null });
  try {
    const result = await load.ask({ ...bridge.job, runTag: tag(), ids: [0, n], mode: 'concurrent', concurrency: 8 });
    const stats = await waitFor(async () => {
      const s = await fake.ask({ cmd: 'stats' });
      return delivered(s) >= n * 2 ? s : null;
    }, 120_000, 'rate-limited deliveries');
    const out = {};
    for (const prefix of ['slack', 'discord']) {
      const ch = channelsOf(stats, prefix)[0];
      out[`${prefix}RequestsPerMessage`] = ch.requests / n;
      out[`${prefix}TimeS`] = (Math.max(...Object.values(ch.ids)) - result.startedAt) / 1000;
    }
    return out;
  } finally {
    await bridge.stop();
  }
}

async function burst(n) {
  await fake.ask({ cmd: 'reset', rateLimit: { slack: { limit: 1, windowMs: 1000 }, discord: { limit: 5, windowMs: 5000 } } });
  const bridge = await startBridge({ work, fakePort, digest: 'default', pace: null });
  try {
    const result = await load.ask({ ...bridge.job, runTag: tag(), ids: [0, n], mode: 'concurrent', concurrency: 8 });
    const out = {};
    const stats = await waitFor(async () => {
      const s = await fake.ask({ cmd: 'stats' });
      const chans = ['slack', 'discord'].map((p) => channelsOf(s, p)[0]);
      return chans.every((ch) => ch && ch.visible.some(([, v]) => v >= n)) ? s : null;
    }, 120_000, 'burst visible');
    for (const prefix of ['slack', 'discord']) {
      const ch = channelsOf(stats, prefix)[0];
      out[`${prefix}VisibleS`] = (ch.visible.find(([, v]) => v >= n)[0] - result.startedAt) / 1000;
      out[`${prefix}PeakPerS`] = peakPerWindow(ch.times, 1000);
    }
    return out;
  } finally {
    await bridge.stop();
  }
}

const rows = [];
/** Per store configuration, its throughput runs (the SQLite one's are also the bridge rows of the main table). */
const storeRuns = new Map(CONFIGS.map((c) => [c, []]));
const loadAverages = [];
const acceptRatios = [];
const collect = (label, values, unit, goal, digits = 0) => rows.push({ label, values, unit, goal, digits });

/** How long a process just started is left alone before {@link idleCost} measures it (start-up work done). */
const IDLE_SETTLE_MS = 15000;
const IDLE_MEASURE_MS = 15000;
/**
 * A target's cost at rest, before any load: CPU in ms per second (time on a CPU of all its threads over
 * IDLE_MEASURE_MS, from the scheduler's ns counts) and RSS at the end, in MB. An idle process under a
 * 100-millicore limit spends this much of its 100 ms per second on nothing.
 */
async function idleCost(target) {
  await sleep(IDLE_SETTLE_MS);
  const before = schedCpuNs(target.pids);
  await sleep(IDLE_MEASURE_MS);
  const after = schedCpuNs(target.pids);
  const cpuMsPerS = before === null || after === null ? null : (after - before) / 1e6 / (IDLE_MEASURE_MS / 1000);
  return { cpuMsPerS, rssMb: target.rssMb() };
}
const repeat = async (fn) => {
  const out = [];
  for (let r = 0; r < RUNS; r++) out.push(await fn(r));
  return out;
};

try {
  if (ONLY.has('throughput') || ONLY.has('latency')) {
    // One bridge for every throughput/latency run: its RSS after each run shows whether memory grows.
    const options = { work, fakePort, digest: 'off', pace: { limit: 1000, windowMs: 100 } };
    const bridge = await startBridge(options);
    bridge.cpu = () => measureCpu(bridge.pids);
    const idle = await idleCost(bridge);
    if (idle.cpuMsPerS !== null) collect(`bridge: idle CPU, ${IDLE_MEASURE_MS / 1000} s from ${IDLE_SETTLE_MS / 1000} s after start (ms per second)`, [idle.cpuMsPerS], 'ms/s', '', 2);
    collect('bridge: idle RSS (then)', [idle.rssMb], 'MB', '≤ 70 MB');
    const rssAfter = [];
    if (ONLY.has('throughput')) {
      // Every configuration is up for the whole scenario and their runs alternate, so a change in what else
      // runs on the machine falls on all of them alike (an idle bridge polls its store once a second).
      const others = [];
      try {
        for (const config of CONFIGS.slice(1)) others.push({ config, ...(await startPostgresConfig(config, options)) });
        loadAverages.push(os.loadavg());
        await repeat(async () => {
          storeRuns.get(CONFIGS[0]).push(await throughput(bridge, 3000));
          rssAfter.push(bridge.rssMb());
          for (const { config, target } of others) storeRuns.get(config).push(await throughput(target, 3000));
        });
        loadAverages.push(os.loadavg());
        // Webhook to chat with nothing else going on, on the replicas (POSTs round-robin over them): the SQLite
        // bridge's own figure is the latency scenario's below.
        if (ONLY.has('latency')) {
          for (const { config, target } of others) {
            const u = await repeat(() => latency(target, 'serial', 100));
            collect(`${config.name}: arrival p50 unloaded`, u.map((x) => x.p50), 'ms', '≤ 50 ms', 1);
            collect(`${config.name}: arrival p99 unloaded`, u.map((x) => x.p99), 'ms', '', 1);
          }
        }
      } finally {
        for (const other of others) await other.close();
      }
      const t = storeRuns.get(CONFIGS[0]);
      collect('bridge: accepted alerts/s (3000 alerts, 8 in flight)', t.map((x) => x.acceptedPerSec), '/s', '≥ 2× Alertmanager');
      collect('bridge: time until all 6000 messages delivered', t.map((x) => x.allDeliveredS), 's', '', 2);
      collect('bridge: CPU per alert (user+sys of the process ÷ alerts delivered)', t.map((x) => x.cpu.bridgesMs / x.sent), 'ms', '≤ 2 ms', 2);
      // The first run is the process's first load: V8 compiles the hot paths' optimized code during it (on its
      // helper threads, counted in the process's CPU). Later runs reuse the warm process.
      if (t.length > 1) {
        collect('bridge: CPU per alert, first run (cold process)', [t[0].cpu.bridgesMs / t[0].sent], 'ms', '', 2);
        collect('bridge: CPU per alert, later runs (warm process)', t.slice(1).map((x) => x.cpu.bridgesMs / x.sent), 'ms', '', 2);
      }
    }
    if (ONLY.has('latency')) {
      const l = await repeat(() => latency(bridge, 'rate', 2000));
      collect('bridge: arrival p50 at 200 alerts/s', l.map((x) => x.p50), 'ms', '', 1);
      collect('bridge: arrival p90 at 200 alerts/s', l.map((x) => x.p90), 'ms', '', 1);
      collect('bridge: arrival p99 at 200 alerts/s', l.map((x) => x.p99), 'ms', '≤ 25 ms', 1);
      collect('bridge: arrival p99 at 200 alerts/s, Slack messages', l.map((x) => x.slackP99), 'ms', '', 1);
      collect('bridge: arrival p99 at 200 alerts/s, Discord messages (bot: 50 req/s cap)', l.map((x) => x.discordP99), 'ms', '', 1);
      const u = await repeat(() => latency(bridge, 'serial', 100));
      collect('bridge: arrival p50 unloaded', u.map((x) => x.p50), 'ms', '', 1);
      collect('bridge: arrival p99 unloaded', u.map((x) => x.p99), 'ms', '', 1);
    }
    rssAfter.push(bridge.rssMb());
    const peak = bridge.peakRssMb();
    await bridge.stop();
    collect('bridge: peak RSS (throughput + latency runs)', [peak], 'MB', '≤ 150 MB');
    collect(`bridge: RSS after each run (${rssAfter.map((x) => x.toFixed(0)).join(', ')})`, rssAfter, 'MB', 'no growth');
  }
  if (PEER === 'alertmanager' && (ONLY.has('throughput') || ONLY.has('latency'))) {
    const am = await startAlertmanager({ work, fakePort, port: await freePort() });
    am.cpu = () => measureCpu(am.pids);
    try {
      const idle = await idleCost(am);
      if (idle.cpuMsPerS !== null) collect(`alertmanager: idle CPU, ${IDLE_MEASURE_MS / 1000} s from ${IDLE_SETTLE_MS / 1000} s after start (ms per second)`, [idle.cpuMsPerS], 'ms/s', '', 2);
      collect('alertmanager: idle RSS (then)', [idle.rssMb], 'MB', '');
      if (ONLY.has('throughput')) {
        const t = await repeat(() => throughput(am, 3000));
        collect('alertmanager: accepted alerts/s (same load)', t.map((x) => x.acceptedPerSec), '/s', '');
        collect('alertmanager: time until all 6000 messages delivered', t.map((x) => x.allDeliveredS), 's', '', 2);
        collect('alertmanager: CPU per alert (user+sys of the process ÷ alerts delivered)', t.map((x) => x.cpu.bridgesMs / x.sent), 'ms', '', 2);
      }
      if (ONLY.has('latency')) {
        const l = await repeat(() => latency(am, 'rate', 2000));
        collect('alertmanager: arrival p50 at 200 alerts/s', l.map((x) => x.p50), 'ms', '', 1);
        collect('alertmanager: arrival p99 at 200 alerts/s', l.map((x) => x.p99), 'ms', '', 1);
        collect('alertmanager: arrival p99 at 200 alerts/s, Slack messages', l.map((x) => x.slackP99), 'ms', '', 1);
        collect('alertmanager: arrival p99 at 200 alerts/s, Discord messages (webhook, no cap)', l.map((x) => x.discordP99), 'ms', '', 1);
      }
      collect('alertmanager: peak RSS', [am.peakRssMb()], 'MB', '');
    } finally {
      await am.stop();
    }
  }
  if (ONLY.has('accept')) {
    const a = await acceptScenario({ fake, load, startBridge, throttling, bridgeOptions: { work, fakePort, digest: 'off', pace: { limit: 1000, windowMs: 100 } }, runs: RUNS, tag, sleep, delivered });
    for (const [name, r] of Object.entries(a)) {
      const where = `delivery on ${name === 'thread' ? 'its own thread' : 'the main event loop'}`;
      collect(`accept: webhook answered, p50 / p99 idle (${where})`, r.map((x) => x.idleP99), 'ms', '', 1);
      rows.at(-1).label += ` — p50 ${fmt(r.map((x) => x.idleP50), 1)} ms; p99:`;
      collect(`accept: webhook answered, p50 / p99 while 3,000 alerts drain (${where}; ${fmt(r.map((x) => x.backlogLeft))} messages still queued after)`, r.map((x) => x.drainP99), 'ms', name === 'thread' ? 'p99 as idle' : '', 1);
      rows.at(-1).label += ` — p50 ${fmt(r.map((x) => x.drainP50), 1)} ms; p99:`;
      if (CPU_LIMIT !== undefined) collect(`accept: CFS periods throttled while the probes ran during the drain (${where}; ${CPU_LIMIT}m limit)`, r.map((x) => (100 * x.throttledPeriods) / Math.max(1, x.periods)), '%', '', 0);
      const [drain, idle] = [median(r.map((x) => x.drainP99)), median(r.map((x) => x.idleP99))];
      acceptRatios.push(`${where}: webhook answer p99 while draining is ×${(drain / idle).toFixed(2)} its idle p99 (${drain.toFixed(1)} ms vs ${idle.toFixed(1)} ms; less is better, ×1 means the backlog does not slow accepts)`);
    }
  }
  if (ONLY.has('ratelimit')) {
    const r = await repeat(() => rateLimited(20));
    collect('1 msg/s limit with 429: Slack requests per delivered message', r.map((x) => x.slackRequestsPerMessage), '', '≤ 1.05', 2);
    collect('1 msg/s limit with 429: Discord requests per delivered message', r.map((x) => x.discordRequestsPerMessage), '', '≤ 1.05', 2);
    collect('1 msg/s limit: time to deliver 20 alerts (Slack)', r.map((x) => x.slackTimeS), 's', '', 1);
    collect('1 msg/s limit: time to deliver 20 alerts (Discord)', r.map((x) => x.discordTimeS), 's', '', 1);
  }
  if (ONLY.has('burst')) {
    const b = await repeat(() => burst(1000));
    collect('1,000-alert burst: all visible on Slack (1/s channel)', b.map((x) => x.slackVisibleS), 's', '≤ 15 s', 1);
    collect('1,000-alert burst: all visible on Discord (5 per 5 s)', b.map((x) => x.discordVisibleS), 's', '≤ 15 s', 1);
    collect('1,000-alert burst: highest Slack messages in any 1 s', b.map((x) => x.slackPeakPerS), '', '≤ 1');
    collect('1,000-alert burst: highest Discord messages in any 1 s', b.map((x) => x.discordPeakPerS), '', '≤ 5');
  }
} finally {
  fake.proc.kill();
  load.proc.kill();
}

/** The bridge's row against Alertmanager's, stated from the bridge's side (see compare.cjs). */
const versusPeer = (bridgeRow, peerRow, measure, better, wording) => {
  const x = rows.find((r) => r.label.startsWith(bridgeRow));
  const y = rows.find((r) => r.label.startsWith(peerRow));
  return x && y ? compareToPeer({ measure, unit: x.unit, better, bridge: median(x.values), peer: median(y.values), peerName: 'Alertmanager', digits: x.digits, wording }) : undefined;
};
console.log(`\nchatops-bridge bench · ${os.cpus().length} cores${CPU_LIMIT !== undefined ? ` · each bridge and Alertmanager limited to ${CPU_LIMIT} millicores (CFS quota)` : ''} · node ${process.version} · ${RUNS} runs · median (min–max)\n`);
console.log(`| measure | result | goal |\n|---|---|---|`);
for (const row of rows) console.log(`| ${row.label} | ${fmt(row.values, row.digits)}${row.unit ? ` ${row.unit}` : ''} | ${row.goal} |`);
const comparisons = [
  versusPeer('bridge: accepted', 'alertmanager: accepted', 'accepted alerts/s', 'more'),
  versusPeer('bridge: time until', 'alertmanager: time until', 'time until all 6000 messages delivered', 'less'),
  versusPeer('bridge: CPU per alert', 'alertmanager: CPU per alert', 'CPU per alert', 'less'),
  versusPeer('bridge: arrival p99 at', 'alertmanager: arrival p99', 'arrival p99 at 200 alerts/s', 'less'),
  versusPeer('bridge: idle CPU', 'alertmanager: idle CPU', 'idle CPU', 'less', 'amount'),
  versusPeer('bridge: idle RSS', 'alertmanager: idle RSS', 'idle RSS', 'less', 'amount'),
].filter(Boolean);
if (comparisons.length > 0) console.log(`\nvs Alertmanager (same machine, same run):\n${comparisons.map((line) => `- ${line}`).join('\n')}`);
if (acceptRatios.length > 0) console.log(`\nAccept latency while a backlog drains, against the same bridge idle (same run):\n${acceptRatios.map((line) => `- ${line}`).join('\n')}`);
if (storeRuns.get(CONFIGS[0]).length > 0) {
  const la = (l) => l.map((x) => x.toFixed(2)).join(' ');
  console.log(`\nStores (throughput scenario, runs alternating, same run; load average ${la(loadAverages[0])} before, ${la(loadAverages[1])} after; CPU: /proc/<pid>/stat utime+stime from before the first POST until the last message arrived):\n`);
  console.log(storeTable(CONFIGS, storeRuns).join('\n'));
}
