// npm run soak -- --minutes N [--rate 20]
// The built bridge at a steady rate for N minutes against the fake chat APIs with 5 % of posts answered 503 and
// 1 % answered 429 (Retry-After 1 s). Every minute: alerts sent, messages delivered per channel, duplicates,
// RSS and event-loop delay (p99, from the bridge's own /metrics). At the end: loss must be 0.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBridge, forkChild } from './processes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const minutes = Number(opt('minutes', '2'));
const rate = Number(opt('rate', '20'));

const child = (file) => forkChild(path.join(here, file));

const fake = child('fake-chat.mjs');
const { port: fakePort } = await fake.next();
const load = child('load.mjs');
await load.next();
await fake.ask({ cmd: 'reset', faults: { error5xx: 0.05, rateLimit429: 0.01 } });
// Raised pace and no digest: every alert must become its own message in each channel, so loss is countable.
const bridge = await startBridge({ work: mkdtempSync(path.join(os.tmpdir(), 'cb-soak-')), fakePort, digest: 'off', pace: { limit: 1000, windowMs: 100 } });
const metricsUrl = bridge.job.url.replace('/webhooks/panther', '/metrics');
const metric = (text, name) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);

const perMinute = rate * 60;
const total = perMinute * minutes;
console.log(`soak: ${minutes} min at ${rate} alerts/s (${total} alerts), 5 % 503 and 1 % 429 injected\n`);
// The bridge's lag readings are intervals of a 50 ms timer (EVENT_LOOP_TIMER_MS in src/observability/metrics.ts):
// the delay is the interval less the timer's own 50 ms.
const LAG_TIMER_MS = 50;
console.log('| minute | sent | delivered slack | delivered discord | duplicates | RSS MB | event-loop delay p99 ms |\n|---|---|---|---|---|---|---|');
const startedAt = Date.now();
for (let m = 0; m < minutes; m++) {
  const sent = await load.ask({ ...bridge.job, runTag: `soak${process.pid}`, ids: [m * perMinute, (m + 1) * perMinute], mode: 'rate', rate });
  const s = await fake.ask({ cmd: 'stats', summary: true });
  const text = await (await fetch(metricsUrl)).text();
  const delivered = Object.entries(s.delivered);
  const of = (prefix) => delivered.find(([k]) => k.startsWith(prefix))?.[1] ?? 0;
  const non2xx = Object.entries(sent.statuses).filter(([k]) => !k.startsWith('2')).reduce((n, [, v]) => n + v, 0);
  console.log(`| ${m + 1} | ${(m + 1) * perMinute}${non2xx ? ` (${non2xx} non-2xx)` : ''} | ${of('slack')} | ${of('discord')} | ${s.duplicates} | ${(metric(text, 'chatops_process_resident_memory_bytes') / 1048576).toFixed(0)} | ${Math.max(0, metric(text, 'chatops_nodejs_eventloop_lag_p99_seconds') * 1000 - LAG_TIMER_MS).toFixed(1)} |`);
}
// Drain: everything sent must arrive in both channels (retries included), within a bound.
const deadline = Date.now() + 120_000;
let final;
do {
  await new Promise((r) => setTimeout(r, 500));
  final = await fake.ask({ cmd: 'stats', summary: true });
} while (Object.values(final.delivered).some((n) => n < total) && Date.now() < deadline);
await bridge.stop();
fake.proc.kill();
load.proc.kill();
const lost = Object.fromEntries(Object.entries(final.delivered).map(([k, n]) => [k, total - n]));
const ok = Object.values(lost).every((n) => n === 0);
console.log(`\nsoak: ${((Date.now() - startedAt) / 60000).toFixed(1)} min · ${final.injected} faults injected · lost ${JSON.stringify(lost)} · duplicates ${final.duplicates} · ${ok ? 'OK' : 'LOSS'}`);
process.exit(ok ? 0 : 1);
