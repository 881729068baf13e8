/**
 * The store configurations of one bench run (`--store sqlite,postgres --replicas 1,3`): the single SQLite process
 * always, as the baseline, and N replicas on one PostgreSQL database for each N asked for; what each throughput
 * run costs in CPU; and the side-by-side table with each configuration's ratios to SQLite.
 */
import os from 'node:os';
import { fixedCpu, machineCpu } from './cpu.mjs';
import { startReplicas } from './processes.mjs';
import { createBenchDatabase, postmasterPid, serverCpu } from './postgres.mjs';
import { median, fmt } from './stats.mjs';
import { ratioToBaseline } from './compare.cjs';

/**
 * The configurations `--store`, `--replicas` and `--roles` ask for: [{ name, store, replicas, roles? }], SQLite's
 * single process first. `--roles split` adds 1 receiver + 2 workers on PostgreSQL (`serve --role`), the POSTs going
 * to the receiver. Throws on what cannot be run (replicas or roles without PostgreSQL: SQLite is one process per
 * store).
 */
export function storeConfigs(storeArg, replicasArg, rolesArg = 'all') {
  const stores = storeArg.split(',').map((s) => s.trim());
  for (const s of stores) if (s !== 'sqlite' && s !== 'postgres') throw new Error(`bench: --store ${s}: sqlite or postgres`);
  const replicas = (replicasArg ?? '1').split(',').map(Number);
  for (const n of replicas) if (!Number.isInteger(n) || n < 1) throw new Error(`bench: --replicas ${replicasArg}: whole numbers ≥ 1, e.g. 1,3`);
  if (!stores.includes('postgres') && replicasArg !== undefined) throw new Error('bench: --replicas needs --store postgres (SQLite serves one process per store)');
  if (rolesArg !== 'all' && rolesArg !== 'split') throw new Error(`bench: --roles ${rolesArg}: all or split`);
  if (rolesArg === 'split' && !stores.includes('postgres')) throw new Error('bench: --roles split needs --store postgres (SQLite serves one process per store)');
  const configs = [{ name: 'SQLite, 1 process', store: 'sqlite', replicas: 1 }];
  if (stores.includes('postgres')) for (const n of replicas) configs.push({ name: `PostgreSQL, ${n} replica${n === 1 ? '' : 's'}`, store: 'postgres', replicas: n });
  if (rolesArg === 'split') configs.push({ name: 'PostgreSQL, 1 receiver + 2 workers', store: 'postgres', replicas: 3, roles: ['receiver', 'worker', 'worker'] });
  return configs;
}

/**
 * Starts the replicas of a PostgreSQL configuration on a fresh database. `target.cpu()` gives a measurement of
 * the bridges and of the server (its backends connected to that database, and its background processes) when
 * the server's processes can be read here. `close()` stops the replicas and drops the database.
 */
export async function startPostgresConfig(config, options) {
  const db = await createBenchDatabase();
  let target;
  try {
    target = await startReplicas({ ...options, replicas: config.replicas, roles: config.roles, pgUrl: db.url });
  } catch (error) {
    await db.drop();
    throw error;
  }
  const postmaster = await postmasterPid();
  return {
    target: { ...target, cpu: () => measureCpu(target.pids, postmaster && serverCpu(postmaster, db.name)) },
    close: async () => {
      await target.stop();
      await db.drop();
    },
  };
}

/**
 * A CPU measurement of `pids` (and of a PostgreSQL server, when given): `start()`, then `read()` (any number of
 * times) → ms per group since start; `stop()` ends the server's sampling.
 */
export function measureCpu(pids, server) {
  const bridges = fixedCpu(pids);
  const receiving = fixedCpu(pids, true);
  const machine = machineCpu();
  return {
    start() {
      bridges.start();
      receiving.start();
      server?.start();
      machine.start();
    },
    read() {
      const s = server?.readMs();
      return { machineMs: machine.readMs(), bridgesMs: bridges.readMs(), receivingMs: receiving.readMs(), backendsMs: s ? (s.backends ?? 0) : null, backgroundMs: s ? (s.background ?? 0) : null, backendPids: s ? (s.pids.backends ?? 0) : null };
    },
    stop() {
      server?.stop();
    },
  };
}

/** Per configuration: the figures of its throughput runs (from run.mjs's throughput()), in the table's units. */
function perRun(config, r) {
  const per = (ms) => (ms === null || ms === undefined ? null : ms / r.accepted);
  // Bridges and store together. SQLite's store is inside the bridge process; PostgreSQL's, when its processes
  // cannot be read here, is unknown (null).
  const total = (cpu) => {
    if (cpu.bridgesMs === null || (config.store === 'postgres' && cpu.backendsMs === null)) return null;
    return cpu.bridgesMs + (cpu.backendsMs ?? 0) + (cpu.backgroundMs ?? 0);
  };
  const totalMs = total(r.cpu);
  const postingMs = total(r.cpuPosting);
  return {
    acceptedPerSec: r.acceptedPerSec,
    bridgeCpu: per(r.cpu.bridgesMs),
    backendsCpu: per(r.cpu.backendsMs),
    backgroundCpu: per(r.cpu.backgroundMs),
    totalCpu: per(totalMs),
    // The bridges' own per-thread counters: where the process's CPU goes (the rest: V8's and libuv's helper threads).
    mainThreadCpu: per(r.threads?.main),
    deliveryThreadCpu: per(r.threads?.delivery),
    helperThreadsCpu: r.threads?.main == null || r.threads?.delivery == null || r.cpu.bridgesMs === null ? null : per(r.cpu.bridgesMs - r.threads.main - r.threads.delivery),
    coresBusyPosting: postingMs === null ? null : postingMs / r.postingMs,
    // Only where every bridge also receives: with `--roles split` the workers' main threads deliver.
    receivingCpuPosting: config.roles || r.cpuPosting.receivingMs === null ? null : r.cpuPosting.receivingMs / r.accepted,
    coresBusy: totalMs === null ? null : totalMs / r.intervalMs,
    machinePosting: r.cpuPosting.machineMs === null ? null : r.cpuPosting.machineMs / r.postingMs,
    backendPids: r.cpu.backendPids,
    allDeliveredS: r.allDeliveredS,
    notAccepted: r.sent - r.accepted,
    duplicates: r.duplicates,
  };
}

const ROWS = [
  { key: 'acceptedPerSec', label: 'accepted alerts/s (3000 alerts, 8 in flight, deliveries running)', unit: '/s', digits: 0, better: 'more', measure: 'accepted alerts/s' },
  { key: 'bridgeCpu', label: 'bridge CPU per accepted alert (user+sys of all bridge processes)', unit: 'ms', digits: 2, better: 'less', measure: 'bridge CPU per accepted alert' },
  { key: 'mainThreadCpu', label: "… of which main threads (HTTP, validation, accepts; and deliveries where no delivery thread runs them)", unit: 'ms', digits: 2 },
  { key: 'deliveryThreadCpu', label: "… of which delivery threads (claims, rendering, sending, records, the store's log checkpoints)", unit: 'ms', digits: 2 },
  { key: 'helperThreadsCpu', label: "… of which other threads (V8's compiler and garbage-collector helpers, libuv's pool; the checkpoint thread where deliveries run in the main thread)", unit: 'ms', digits: 2 },
  { key: 'backendsCpu', label: "PostgreSQL backends' CPU per accepted alert (connections to the bench database)", unit: 'ms', digits: 2 },
  { key: 'backgroundCpu', label: "PostgreSQL background processes' CPU per accepted alert (walwriter, checkpointer, background writer; server-wide)", unit: 'ms', digits: 3 },
  { key: 'totalCpu', label: 'bridges + PostgreSQL CPU per accepted alert', unit: 'ms', digits: 2, better: 'less', measure: 'CPU per accepted alert (bridge and store together)' },
  {
    key: 'receivingCpuPosting',
    label: "receiving threads' CPU per accepted alert while the POSTs were answered (each bridge's main thread: HTTP, validation, the accept's commit; 1000 ÷ this bounds one receiving thread's alerts/s)",
    unit: 'ms',
    digits: 2,
    better: 'less',
    measure: "receiving threads' CPU per accepted alert",
  },
  { key: 'coresBusyPosting', label: `cores busy while the POSTs were answered (bridges + PostgreSQL; machine has ${os.cpus().length})`, unit: '', digits: 2 },
  { key: 'machinePosting', label: 'cores busy while the POSTs were answered, whole machine (load generator, fake, other sessions too)', unit: '', digits: 2 },
  { key: 'coresBusy', label: 'cores busy from first POST to last delivery (bridges + PostgreSQL)', unit: '', digits: 2 },
  { key: 'backendPids', label: 'PostgreSQL backend processes seen', unit: '', digits: 0 },
  { key: 'allDeliveredS', label: 'time until all 6000 messages delivered', unit: 's', digits: 2, better: 'less', measure: 'time until all delivered' },
  { key: 'notAccepted', label: 'POSTs not answered 2xx', unit: '', digits: 0 },
  { key: 'duplicates', label: 'messages the fake received twice', unit: '', digits: 0 },
];

/**
 * The markdown table: one column per configuration (median (min–max) of its runs), then one column per
 * non-baseline configuration with its ratio to SQLite's median, stated with its direction in words.
 */
export function storeTable(configs, results) {
  const figures = configs.map((c) => results.get(c).map((r) => perRun(c, r)));
  const [base, ...others] = configs;
  const head = `| measure | ${configs.map((c) => c.name).join(' | ')} | ${others.map((c) => `${c.name} vs ${base.name}`).join(' | ')} |`;
  const lines = [head, `|${'---|'.repeat(1 + configs.length + others.length)}`];
  for (const row of ROWS) {
    const cells = figures.map((runs) => {
      const values = runs.map((f) => f[row.key]);
      return values.some((v) => v === null || v === undefined || Number.isNaN(v)) ? '—' : `${fmt(values, row.digits)}${row.unit ? ` ${row.unit}` : ''}`;
    });
    if (cells.every((c) => c === '—')) continue;
    const ratios = others.map((_, i) => {
      if (!row.better) return '';
      const value = median(figures[i + 1].map((f) => f[row.key]));
      return ratioToBaseline({ measure: row.measure, better: row.better, value, baseline: median(figures[0].map((f) => f[row.key])), baselineName: 'SQLite' });
    });
    lines.push(`| ${row.label} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
  }
  return lines;
}
